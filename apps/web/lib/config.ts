/**
 * The web app's whole configuration, read once per server process. Only the server (proxy.ts, route handlers and
 * server components) imports this; browsers reach the API through the same-origin `/api/v<N>/*` route instead.
 * server.mjs reads its own settings (timeouts, WEB_TRUST_PROXY) before Next starts.
 */
function parseApiUrl(raw: string | undefined): URL {
  const value = raw && raw.trim() !== '' ? raw.trim() : 'http://127.0.0.1:8080';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`Invalid configuration: API_URL must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Invalid configuration: API_URL must be an http(s) URL, got "${value}"`);
  }
  // Paths are joined relative to the base, so it must end with "/" to keep any prefix such as /modelyard/.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

export const webConfig = {
  api: { baseUrl: parseApiUrl(process.env.API_URL).href },
} as const;

/** Request header proxy.ts sets on page requests: layouts are not told their URL, but need it for `?next=`. */
export const PATH_HEADER = 'x-modelyard-path';

/**
 * Request header proxy.ts sets on page requests: the project the page's URL is in (`/projects/{p}/...`, rewritten
 * to the bare page), always overwritten there so a browser cannot choose it by sending the header itself.
 */
export const PROJECT_HEADER = 'x-modelyard-project';

/** The API's session cookie: the only cookie the dashboard passes on to the API. */
export const SESSION_COOKIE = 'modelyard_session';

/**
 * `modelyard_session=<value>` from a browser's Cookie header (the value byte for byte: re-serialising parsed
 * cookies could re-encode it), or undefined; the browser's other cookies are none of the API's business.
 */
export function sessionCookieHeader(header: string | null | undefined): string | undefined {
  return apiCookieHeader(header, [SESSION_COOKIE]);
}

/** The state of a single sign-on under way (sealed by the API); only its callback needs it. */
export const SSO_FLOW_COOKIE = 'modelyard_sso';

/** The named cookies from a browser's Cookie header, each value byte for byte, or undefined when none is there. */
export function apiCookieHeader(header: string | null | undefined, names: string[]): string | undefined {
  const found: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    if (names.includes(name) && !found.some((f) => f.startsWith(`${name}=`)))
      found.push(`${name}=${part.slice(eq + 1).trim()}`);
  }
  return found.length ? found.join('; ') : undefined;
}
