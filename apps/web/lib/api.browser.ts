import { ApiError, DEFAULT_PROJECT_NAME, ModelyardClient, apiHrefInProject, projectOfPage } from '@modelyard/contracts';

/** The project the page in the address bar is in (`/projects/{p}/...`, else `default`). */
export function pageProject(): string {
  return projectOfPage(window.location.pathname).project;
}

/** The browser's URL for an API path in the page's project (uploads): `/api/[projects/{p}/]v1/...`. */
export function browserApiHref(apiPath: string): string {
  return apiHrefInProject(pageProject(), apiPath);
}

/**
 * The API as seen from the browser: same origin, through the `/api/*` forwarder (app/api/[...path]/route.ts), so
 * the HttpOnly session cookie rides along without the page ever touching it. It acts in the project of the page
 * in the address bar (`/api/projects/{p}/v1/...`), so every control on a page acts where the page is; `project`
 * overrides that (the admin's projects page edits each project in its own).
 */
export function browserApi(project: string = pageProject()): ModelyardClient {
  return new ModelyardClient({
    baseUrl: new URL('/api/', window.location.origin).href,
    project: project === DEFAULT_PROJECT_NAME ? undefined : project,
    // Wrapped because the client calls `this.fetchImpl(...)`, and window.fetch throws "Illegal invocation"
    // when called with any `this` other than window.
    fetch: (input, init) => window.fetch(input, init),
  });
}

/** The message to show for a failed call: the API's own wording when it gave one. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return 'Something went wrong';
}
