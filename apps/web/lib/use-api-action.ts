'use client';
import { useCallback, useState, useTransition } from 'react';
import { useRouter } from 'next/navigation';
import { ApiError, type ModelyardClient } from '@modelyard/contracts';
import { browserApi, errorMessage } from './api.browser';

export type ActionResult<T> = { ok: true; data: T } | { ok: false };

/** Messages by the path of the field they are about (`name`, `rules.1.above`), as the API names fields. */
export type FieldErrors = Record<string, string>;

/**
 * The fields a 4xx answer names: VALIDATION_FAILED carries `details.issues` (`{ path, message }` per bad field,
 * see libs/server's validate()); the first message for a path wins, issues without a path are left to the alert.
 */
export function fieldErrorsOf(e: unknown): FieldErrors {
  if (!(e instanceof ApiError) || e.status < 400 || e.status >= 500) return {};
  const issues = (e.details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return {};
  const out: FieldErrors = {};
  for (const issue of issues as { path?: unknown; message?: unknown }[]) {
    if (typeof issue?.path !== 'string' || !issue.path || typeof issue.message !== 'string') continue;
    out[issue.path] ??= issue.message;
  }
  return out;
}

/**
 * Runs one mutation against the API from a client component: tracks pending state, keeps the API's
 * error message (and the fields it names) for display, and on success re-renders the server components so lists
 * show the change.
 */
export function useApiAction() {
  const router = useRouter();
  const [running, setRunning] = useState(false);
  const [refreshing, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});

  const run = useCallback(
    async <T>(call: (api: ModelyardClient) => Promise<T>): Promise<ActionResult<T>> => {
      setRunning(true);
      setError(null);
      setFieldErrors({});
      try {
        const data = await call(browserApi());
        startTransition(() => router.refresh());
        return { ok: true, data };
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          router.push(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
        }
        setError(errorMessage(e));
        setFieldErrors(fieldErrorsOf(e));
        return { ok: false };
      } finally {
        setRunning(false);
      }
    },
    [router],
  );

  return { run, pending: running || refreshing, error, setError, fieldErrors, setFieldErrors };
}
