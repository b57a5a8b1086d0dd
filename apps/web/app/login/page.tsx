import type { Metadata } from 'next';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Sign in' };

const PLACEHOLDER = 'http://modelyard.invalid';

/**
 * Only a path on this origin, else `/`: `?next=` must not turn the login page into an open redirect. The value is
 * resolved the way the browser will resolve it, and control characters and backslashes are refused outright,
 * because URL parsing drops tabs and newlines and reads "\" as "/": `/%09/evil.example` is `//evil.example` to a
 * browser, a protocol-relative link to another host.
 */
function safeNext(value: string | string[] | undefined): string {
  const next = Array.isArray(value) ? value[0] : value;
  if (!next || !next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, PLACEHOLDER);
  } catch {
    return '/';
  }
  if (url.origin !== PLACEHOLDER) return '/';
  return url.pathname + url.search + url.hash;
}

export default async function LoginPage({ searchParams }: PageProps<'/login'>) {
  const next = safeNext((await searchParams).next);
  return (
    <main className="login-page">
      <div className="login-card">
        <div className="brand brand-large">
          <img src="/icon.svg" alt="" width={32} height={32} />
          <span>Modelyard</span>
        </div>
        <h1>Sign in</h1>
        <LoginForm next={next} />
      </div>
    </main>
  );
}
