import 'server-only';
import { cache } from 'react';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { ApiError, ModelyardClient, type TMeResponse } from '@modelyard/contracts';
import { PATH_HEADER, sessionCookieHeader, webConfig } from './config';

/** What a server component got from the API: the data, or the API's own refusal to show to the user. */
export type Loaded<T> = { ok: true; data: T } | { ok: false; status: number; message: string };

/** A client acting as the browser that made this request: its session cookie goes along, nothing else. */
export async function serverApi(): Promise<ModelyardClient> {
  const cookie = sessionCookieHeader((await headers()).get('cookie'));
  return new ModelyardClient({ baseUrl: webConfig.api.baseUrl, cookie, userAgent: 'modelyard-web' });
}

/** Where a logged-out visitor of the current page is sent; proxy.ts tells us the page's path. */
export async function loginRedirect(): Promise<never> {
  const path = (await headers()).get(PATH_HEADER) ?? '/';
  redirect(`/login?next=${encodeURIComponent(path)}`);
}

/**
 * Calls the API for a server component. 401 means the session is gone: go to the login page. Any other
 * ApiError (403, 404, API down) is returned for the page to show; anything else is a bug and is thrown.
 */
export async function load<T>(call: (api: ModelyardClient) => Promise<T>): Promise<Loaded<T>> {
  const api = await serverApi();
  let failure: ApiError;
  try {
    return { ok: true, data: await call(api) };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    failure = e;
  }
  // Outside the try: redirect() works by throwing, which the catch above must not swallow.
  if (failure.status === 401) return loginRedirect();
  return { ok: false, status: failure.status, message: failure.message };
}

/** The signed-in principal; one API call per request even though the layout and the page both ask. */
export const getMe = cache((): Promise<Loaded<TMeResponse>> => load((api) => api.me()));
