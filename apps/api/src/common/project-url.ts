import type { IncomingMessage } from 'node:http';

/** Where dispatch leaves the project a URL named, on the raw request (the guard and the predict router read it). */
export const URL_PROJECT = Symbol('modelyard.urlProject');
export type ProjectedRequest = IncomingMessage & { [URL_PROJECT]?: string };

// A project's name as ZProjectName allows it (no dots, no percent-encoding: nothing that normalizes away).
const PROJECTED = /^\/(v1\/)?projects\/([a-z0-9][a-z0-9-]{0,62})(?=[/?]|$)/;

/**
 * Project-qualified URLs are today's URLs with the project in front, so one route serves both and every format
 * can be called in any project:
 *   /projects/{p}/<any path>        -> /<any path>      (every request format: /projects/p/v2/models/m/infer)
 *   /v1/projects/{p}/grants...      -> /v1/project/grants...
 *   /v1/projects/{p}                -> /v1/project       (the project itself)
 *   /v1/projects/{p}/<rest>         -> /v1/<rest>        (/v1/projects/p/models/m/versions)
 * The project's name is left on the request for the guard, which resolves the caller in it. `/v1/projects`
 * itself (list, create) is not rewritten.
 */
export function takeUrlProject(req: ProjectedRequest): void {
  const url = req.url!;
  if (url.length < 11 || (url[1] !== 'p' && url[4] !== 'p')) return;
  const m = PROJECTED.exec(url);
  if (!m) return;
  const rest = url.slice(m[0].length);
  if (m[1]) {
    if (rest === '' || rest[0] === '?' || rest.startsWith('/grants')) req.url = `/v1/project${rest}`;
    else req.url = `/v1${rest}`;
  } else {
    if (rest === '' || rest[0] === '?') return;
    req.url = rest;
  }
  req[URL_PROJECT] = m[2]!;
}
