import Link from 'next/link';

/** Jobs and their schedules are one area of the dashboard: two tabs under the page heading. */
export function JobsNav({ current }: { current: 'jobs' | 'schedules' }) {
  return (
    <nav className="tabs" aria-label="Jobs sections">
      <Link href="/jobs" aria-current={current === 'jobs' ? 'page' : undefined}>
        Jobs
      </Link>
      <Link href="/jobs/schedules" aria-current={current === 'schedules' ? 'page' : undefined}>
        Schedules
      </Link>
    </nav>
  );
}
