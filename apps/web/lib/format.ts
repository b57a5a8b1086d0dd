/**
 * Timestamps render on the server and are never re-rendered in the browser, but we still avoid the
 * server's locale and time zone so every operator reads the same thing: UTC, minute precision.
 */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function isPast(iso: string | null): boolean {
  return iso !== null && new Date(iso).getTime() <= Date.now();
}
