import type { Metadata } from 'next';
import { ModelyardClient, type TSsoInfo } from '@modelyard/contracts';
import { webConfig } from '../../lib/config';
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

/** Single sign-on as the API reports it; an API that cannot say leaves the password form alone. */
async function ssoInfo(): Promise<TSsoInfo | null> {
  try {
    return await new ModelyardClient({ baseUrl: webConfig.api.baseUrl, userAgent: 'modelyard-web' }).ssoInfo();
  } catch {
    return null;
  }
}

export default async function LoginPage({ searchParams }: PageProps<'/login'>) {
  const next = safeNext((await searchParams).next);
  const sso = await ssoInfo();
  return (
    <main className="login-page">
      <div className="login-card">
        <div className="brand brand-large">
          <img src="/icon.svg" alt="" width={32} height={32} />
          <span>Modelyard</span>
        </div>
        <h1>Sign in</h1>
        {sso?.enabled && (
          <>
            {/* A plain link: the API answers with a redirect to the IdP, which comes back to /api/v1/auth/sso/callback. */}
            <a className="btn btn-primary sso-button" href={`/api/v1/auth/sso/login?next=${encodeURIComponent(next)}`}>
              Sign in with {sso.providerName}
            </a>
            <p className="login-divider">or with a password</p>
          </>
        )}
        <LoginForm next={next} />
      </div>
    </main>
  );
}
