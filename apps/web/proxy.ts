import { NextResponse, type NextRequest } from 'next/server';
import { PATH_HEADER } from './lib/config';

/**
 * Pages only: passes the current path on to the authenticated layout so it can send a logged-out visitor to
 * `/login?next=<path>`. The browser's API calls (/api/v<N>/...) never come here: app/api/[...path]/route.ts
 * forwards them with a fixed header policy (lib/forward.ts); a rewrite from here would name API_URL in the
 * answer's x-middleware-rewrite header and pass every request header, other cookies included.
 */
export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const headers = new Headers(request.headers);
  headers.set(PATH_HEADER, pathname + search);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Static assets, metadata files and the API route need neither the path nor anything else from here.
  matcher: ['/((?!_next/static|_next/image|icon\\.svg|favicon\\.ico|api/).*)'],
};
