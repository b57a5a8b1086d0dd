import 'server-only';
import { cache } from 'react';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import {
  ApiError,
  DEFAULT_PROJECT_NAME,
  ModelyardClient,
  apiHrefInProject,
  pageInProject,
  type TMeResponse,
  type TProject,
} from '@modelyard/contracts';
import { PATH_HEADER, PROJECT_HEADER, sessionCookieHeader, webConfig } from './config';

/** What a server component got from the API: the data, or the API's own refusal to show to the user. */
export type Loaded<T> = { ok: true; data: T } | { ok: false; status: number; message: string };

/** The project this page is in: its URL's (`/projects/{p}/...`, read by proxy.ts), else `default`. */
export async function currentProject(): Promise<string> {
  return (await headers()).get(PROJECT_HEADER) ?? DEFAULT_PROJECT_NAME;
}

/** A dashboard link (or GET form action) that stays in this page's project: `/jobs` -> `/projects/{p}/jobs`. */
export async function pageHref(href: string): Promise<string> {
  return pageInProject(await currentProject(), href);
}

/** The browser's URL for an API path (downloads) in this page's project: `/api/[projects/{p}/]v1/...`. */
export async function apiHref(apiPath: string): Promise<string> {
  return apiHrefInProject(await currentProject(), apiPath);
}

/**
 * A client acting as the browser that made this request: its session cookie goes along, nothing else. It acts
 * in the page's project (every call goes to the API's `/projects/{p}/...` URLs), so no page names the project
 * itself; `project` overrides that (the admin's projects page acts in each project it edits).
 */
export async function serverApi(project?: string): Promise<ModelyardClient> {
  const h = await headers();
  const cookie = sessionCookieHeader(h.get('cookie'));
  const p = project ?? h.get(PROJECT_HEADER) ?? DEFAULT_PROJECT_NAME;
  return new ModelyardClient({
    baseUrl: webConfig.api.baseUrl,
    cookie,
    userAgent: 'modelyard-web',
    // `default` by its bare URLs: they work for a caller with no role there (its identity, its projects).
    project: p === DEFAULT_PROJECT_NAME ? undefined : p,
  });
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
export async function load<T>(call: (api: ModelyardClient) => Promise<T>, project?: string): Promise<Loaded<T>> {
  const api = await serverApi(project);
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

/**
 * The signed-in principal acting in this page's project (its `role` is the role there); one API call per request
 * even though the layout and the page both ask.
 */
export const getMe = cache((): Promise<Loaded<TMeResponse>> => load((api) => api.me()));

/** The projects the signed-in user can act in (a platform admin: all), asked outside any project. */
export const getProjects = cache((): Promise<Loaded<TProject[]>> =>
  load((api) => api.listProjects(), DEFAULT_PROJECT_NAME),
);
