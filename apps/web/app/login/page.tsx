import type { Metadata } from 'next';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Sign in' };

/** Only same-origin paths: `?next=https://evil.example` must not turn the login page into an open redirect. */
function safeNext(value: string | string[] | undefined): string {
  const next = Array.isArray(value) ? value[0] : value;
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
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
