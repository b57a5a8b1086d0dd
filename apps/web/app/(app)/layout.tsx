import Link from 'next/link';
import type { ReactNode } from 'react';
import { getMe } from '@/lib/api.server';
import { ErrorAlert } from '@/components/alert';
import { LogoutButton } from './logout-button';
import { SideNav } from './side-nav';

/** Every signed-in page: identity in the header, navigation on the left. A 401 from /v1/me goes to /login. */
export default async function AppLayout({ children }: { children: ReactNode }) {
  const me = await getMe();
  return (
    <div className="shell">
      <header className="topbar">
        <Link className="brand" href="/">
          <img src="/icon.svg" alt="" width={24} height={24} />
          <span>Modelyard</span>
        </Link>
        {me.ok ? (
          <div className="identity">
            <span className="identity-name">{me.data.name}</span>
            <span className={`badge badge-role-${me.data.role}`}>{me.data.role}</span>
            <LogoutButton />
          </div>
        ) : null}
      </header>
      <SideNav role={me.ok ? me.data.role : null} />
      <main className="content">
        {me.ok ? children : <ErrorAlert message={`Cannot load your account: ${me.message}`} />}
      </main>
    </div>
  );
}
