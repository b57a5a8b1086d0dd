import { NextResponse, type NextRequest } from 'next/server';
import { DEFAULT_PROJECT_NAME, projectOfPage } from '@modelyard/contracts';
import { PATH_HEADER, PROJECT_HEADER } from './lib/config';

const PASS_HEADER = 'x-modelyard-proxied';
const PASS = crypto.randomUUID();

/**
 * Pages only. Passes the current path on to the authenticated layout so it can send a logged-out visitor to
 * `/login?next=<path>`, and serves `/projects/{p}/<page>` as `<page>` in project p: the same page files answer
 * every project, and they read the project from PROJECT_HEADER (lib/api.server.ts), which is set here on every
 * request (`default` for a bare page). The browser's API calls (/api/...) never come here:
 * app/api/[...path]/route.ts forwards them with a fixed header policy (lib/forward.ts); a rewrite from here would
 * name API_URL in the answer's x-middleware-rewrite header and pass every request header, other cookies included.
 */
export function proxy(request: NextRequest) {
  // Next runs the proxy a second time on the page a rewrite names, with the headers the first pass set: they
  // stay. The per-process secret tells that pass from a browser that sends the headers itself.
  if (request.headers.get(PASS_HEADER) === PASS) return NextResponse.next();
  const { pathname, search } = request.nextUrl;
  const headers = new Headers(request.headers);
  headers.set(PASS_HEADER, PASS);
  headers.set(PATH_HEADER, pathname + search);
  const { project, page } = projectOfPage(pathname);
  headers.set(PROJECT_HEADER, project);
  if (project === DEFAULT_PROJECT_NAME && page === pathname) return NextResponse.next({ request: { headers } });
  const url = request.nextUrl.clone();
  url.pathname = page;
  return NextResponse.rewrite(url, { request: { headers } });
}

export const config = {
  // Static assets, metadata files and the API route need neither the path nor anything else from here.
  matcher: ['/((?!_next/static|_next/image|icon\\.svg|favicon\\.ico|api/).*)'],
};
