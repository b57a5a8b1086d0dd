'use client';
import { useState } from 'react';
import { AutoRefresh } from '@/components/auto-refresh';

/** Re-renders the page (new rollups arrive every few seconds) until the reader switches it off. */
export function RefreshToggle({ everyMs }: { everyMs: number }) {
  const [on, setOn] = useState(true);
  return (
    <label className="checkbox">
      <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} />
      Refresh every {everyMs / 1000} s
      <AutoRefresh active={on} everyMs={everyMs} />
    </label>
  );
}
