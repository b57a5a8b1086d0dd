'use client';
import { useState } from 'react';
import { useRouter } from 'next/navigation';

export function LogoutButton() {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function logout() {
    setPending(true);
    try {
      // The API client (and every schema it parses with) loads on the click: this button is on every page, and
      // the client's module would otherwise be downloaded, parsed and run on each of them.
      const { browserApi } = await import('@/lib/api.browser');
      await browserApi().logout();
      router.replace('/login');
      router.refresh();
    } catch (e) {
      // errorMessage's wording (an ApiError is an Error with the API's message), without importing its module.
      setError(e instanceof Error ? e.message : 'Something went wrong');
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
