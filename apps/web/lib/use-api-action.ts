'use client';
import { useCallback, useState, useTransition } from 'react';
import { useRouter } from 'next/navigation';
import { ApiError, type ModelyardClient } from '@modelyard/contracts';
import { browserApi, errorMessage } from './api.browser';

export type ActionResult<T> = { ok: true; data: T } | { ok: false };

/**
 * Runs one mutation against the API from a client component: tracks pending state, keeps the API's
 * error message for display, and on success re-renders the server components so lists show the change.
 */
export function useApiAction() {
  const router = useRouter();
  const [running, setRunning] = useState(false);
  const [refreshing, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);

  const run = useCallback(
    async <T>(call: (api: ModelyardClient) => Promise<T>): Promise<ActionResult<T>> => {
      setRunning(true);
      setError(null);
      try {
        const data = await call(browserApi());
        startTransition(() => router.refresh());
        return { ok: true, data };
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          router.push(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
        }
        setError(errorMessage(e));
        return { ok: false };
      } finally {
        setRunning(false);
      }
    },
    [router],
  );

  return { run, pending: running || refreshing, error, setError };
}
