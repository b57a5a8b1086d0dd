'use client';
import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { browserApi, errorMessage } from '@/lib/api.browser';

export function LogoutButton() {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function logout() {
    setPending(true);
    try {
      await browserApi().logout();
      router.replace('/login');
      router.refresh();
    } catch (e) {
      setError(errorMessage(e));
      setPending(false);
    }
  }

  return (
    <>
      {error ? (
        <span className="error-inline" role="alert">
          {error}
        </span>
      ) : null}
      <button type="button" className="btn btn-secondary btn-small" onClick={logout} disabled={pending}>
        {pending ? 'Logging out…' : 'Log out'}
      </button>
    </>
  );
}
