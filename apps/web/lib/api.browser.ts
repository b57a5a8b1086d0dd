import { ApiError, ModelyardClient } from '@modelyard/contracts';

/**
 * The API as seen from the browser: same origin, through the `/api/*` rewrite in proxy.ts, so the
 * HttpOnly session cookie rides along without the page ever touching it.
 */
export function browserApi(): ModelyardClient {
  return new ModelyardClient({
    baseUrl: new URL('/api/', window.location.origin).href,
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
