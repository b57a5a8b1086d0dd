/** What a page shows while its server component waits for the API (a Suspense fallback via loading.tsx). */
export function LoadingCard({ title }: { title: string }) {
  return (
    <>
      <div className="page-header">
        <h1>{title}</h1>
      </div>
      <section className="card loading-card" aria-busy="true">
        <p className="muted" role="status">
          Loading…
        </p>
        <div className="skeleton" />
        <div className="skeleton" />
        <div className="skeleton skeleton-short" />
      </section>
    </>
  );
}
