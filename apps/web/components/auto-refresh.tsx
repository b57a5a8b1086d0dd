'use client';
import { useEffect } from 'react';
import { useRouter } from 'next/navigation';

/**
 * Re-renders the page every few seconds while something on it is still changing on its own (a version the
 * worker is validating, a job in progress), and stops as soon as the server says nothing is.
 */
export function AutoRefresh({ active, everyMs = 2000 }: { active: boolean; everyMs?: number }) {
  const router = useRouter();
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => router.refresh(), everyMs);
    return () => clearInterval(t);
  }, [active, everyMs, router]);
  return null;
}
