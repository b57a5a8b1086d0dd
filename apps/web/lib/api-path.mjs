// @ts-check
// Plain JavaScript on purpose: server.mjs (which Node runs directly, before Next) and the TypeScript forwarder
// (lib/forward.ts) must apply the very same rule, so it is written once, in the one language both can import.

/** The only characters an API path may use (RFC 3986 pchar and "/"); "@" is left out: no route needs it. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:%/]*$/;
// `/api/projects/{p}/v<N>/...` is the API's project-qualified form of the same route (the project's name as
// ZProjectName allows it: nothing that decodes or normalises), for pages in project p (contracts' dashboard-paths).
const VERSIONED = /^\/api\/((?:projects\/[a-z0-9][a-z0-9-]{0,62}\/)?v[0-9]{1,3}\/.*)$/;

/**
 * Which dashboard paths reach the API: `/api/v<N>/<segments>` (or `/api/projects/{p}/v<N>/<segments>`) and nothing
 * else. Returns the part to join onto API_URL (`v1/models/iris/versions`), or null. Refused: doubled slashes, backslashes, "@", dot segments and
 * percent-escapes that decode to any of those (or to control characters), so no spelling can climb out of the
 * API's path or be read as another host (`/api/https:evil.example`, `/api//evil.example`, `/api/v1/%2F%2Fx`).
 * @param {string} rawPath the request path as received, without the query string
 * @returns {string | null}
 */
export function apiPathOf(rawPath) {
  const m = VERSIONED.exec(rawPath);
  if (!m) return null;
  const rest = /** @type {string} */ (m[1]);
  if (!PATH_CHARS.test(rest) || rest.includes('//')) return null;
  for (const segment of rest.split('/')) {
    let decoded;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return null; // a "%" not followed by two hex digits
    }
    if (decoded === '.' || decoded === '..' || /[/\\@\u0000-\u001f\u007f]/.test(decoded)) return null;
  }
  return rest;
}

/**
 * The API URL for a dashboard request, or null when the path is not one apiPathOf accepts. The path is joined
 * onto the base as a string, never resolved as a URL reference, and the result must still be on the base's
 * origin and under its path: a second, independent check that nothing above let another host through.
 * @param {string} rawPath request path as received (no query)
 * @param {string} search the query string, "" or starting with "?"
 * @param {string} baseHref API_URL, ending with "/"
 * @returns {URL | null}
 */
export function apiTarget(rawPath, search, baseHref) {
  const rest = apiPathOf(rawPath);
  if (rest === null) return null;
  if (search !== '' && (!search.startsWith('?') || search.includes('#'))) return null;
  const base = new URL(baseHref);
  let target;
  try {
    target = new URL(base.href + rest + search);
  } catch {
    return null;
  }
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) return null;
  return target;
}
