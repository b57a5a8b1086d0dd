'use client';

/**
 * Unexpected failures only: API refusals (403, validation, API down) are rendered by the pages themselves.
 * Server errors arrive here redacted, with a digest that matches the web server's log line.
 */
export default function AppError({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = error instanceof Error && 'digest' in error ? String(error.digest) : null;
  return (
    <section className="card">
      <h1>Something went wrong</h1>
      <p className="muted">
        This page failed to render.
        {digest ? (
          <>
            {' '}
            Reference: <code>{digest}</code>.
          </>
        ) : null}
      </p>
      <button type="button" className="btn btn-secondary" onClick={() => retry()}>
        Try again
      </button>
    </section>
  );
}
