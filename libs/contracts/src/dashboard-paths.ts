/**
 * Where the dashboard keeps the project a page is in: its URL. `/projects/{p}/<page>` is `<page>` in project p,
 * and a bare `<page>` is the default project's, so today's links keep working and a link a colleague shares opens
 * the same project (a cookie or local state would open theirs). The API's own project-qualified URLs have the same
 * shape (`/projects/{p}/v1/...`), which is what the dashboard calls for a page in p.
 */
export const DEFAULT_PROJECT_NAME = 'default';

// A project name as ZProjectName allows it (projects.ts), so no spelling of a prefix can hide a dot or an escape.
const PREFIXED = /^\/projects\/([a-z0-9][a-z0-9-]{0,62})(?=[/?#]|$)/;

/** The project a dashboard path is in and the page inside it (`/projects/a/models?x` -> a, `/models?x`). */
export function projectOfPage(path: string): { project: string; page: string } {
  const m = PREFIXED.exec(path);
  if (!m) return { project: DEFAULT_PROJECT_NAME, page: path };
  const rest = path.slice(m[0].length);
  return { project: m[1]!, page: rest === '' || rest[0] !== '/' ? `/${rest}` : rest };
}

/**
 * A dashboard link inside `project`: `/models` in a -> `/projects/a/models`, `/` -> `/projects/a`. Left as they are:
 * the default project's links, links that already name a project, the login page, `/api/...`, fragments, other
 * origins and anything that is not an absolute path.
 */
export function pageInProject(project: string, href: string): string {
  if (project === DEFAULT_PROJECT_NAME || !href.startsWith('/') || href.startsWith('//')) return href;
  if (PREFIXED.test(href) || /^\/(api|login)(?=[/?#]|$)/.test(href)) return href;
  const base = `/projects/${project}`;
  return href === '/' ? base : href[1] === '?' || href[1] === '#' ? base + href.slice(1) : base + href;
}

/**
 * Where the project switcher goes from `path` to `project`: the same section of the dashboard (its first path
 * segment, `/models/iris/drift` -> `/models`), since the object the page showed is in the old project only.
 */
export function switchProjectPath(path: string, project: string): string {
  const { page } = projectOfPage(path.split(/[?#]/)[0]!);
  const section = /^\/[^/]+/.exec(page)?.[0] ?? '/';
  return pageInProject(project, section);
}

/**
 * The browser's URL for an API path (`/v1/...`) in `project`, through the dashboard's `/api` forwarder:
 * `/api/projects/{p}/v1/...`, or `/api/v1/...` in the default project.
 */
export function apiHrefInProject(project: string, apiPath: string): string {
  const route = apiPath.replace(/^\//, '');
  return project === DEFAULT_PROJECT_NAME ? `/api/${route}` : `/api/projects/${encodeURIComponent(project)}/${route}`;
}
