import Link from '@/components/project';

/** Jobs, their schedules and stream deployments are one area of the dashboard: tabs under the page heading. */
export function JobsNav({ current }: { current: 'jobs' | 'schedules' | 'streams' }) {
  return (
    <nav className="tabs" aria-label="Jobs sections">
      <Link href="/jobs" aria-current={current === 'jobs' ? 'page' : undefined}>
        Jobs
      </Link>
      <Link href="/jobs/schedules" aria-current={current === 'schedules' ? 'page' : undefined}>
        Schedules
      </Link>
      <Link href="/jobs/streams" aria-current={current === 'streams' ? 'page' : undefined}>
        Streams
      </Link>
    </nav>
  );
}
