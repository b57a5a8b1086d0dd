import { NextResponse, type NextRequest } from 'next/server';
import { PATH_HEADER, webConfig } from './lib/config';

/**
 * Two jobs, both needing the request at run time:
 * 1. `/api/:path*` -> `${API_URL}/:path*`, so the browser only ever talks to the web origin and the
 *    session cookie the API sets (HttpOnly, Path=/) lands on this origin.
 * 2. For pages, pass the current path on to the authenticated layout so it can send a logged-out visitor
 *    to `/login?next=<path>`.
 */
export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  if (pathname === '/api' || pathname.startsWith('/api/')) {
    const target = new URL(pathname.slice('/api/'.length) + search, webConfig.api.baseUrl);
    return NextResponse.rewrite(target);
  }
  const headers = new Headers(request.headers);
  headers.set(PATH_HEADER, pathname + search);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Static assets and metadata files never need either job. Nor do uploads: Next buffers the body of every
  // request the proxy runs for and cuts it at 10 MB (proxyClientMaxBodySize), so version uploads and batch job
  // inputs are streamed to the API by app/api/v1/models/[name]/versions/route.ts and app/api/v1/jobs/route.ts.
  matcher: ['/((?!_next/static|_next/image|icon\\.svg|favicon\\.ico|api/v1/models/[^/]+/versions$|api/v1/jobs$).*)'],
};
