'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';

const ITEMS = [
  { href: '/', label: 'Overview' },
  { href: '/models', label: 'Models' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/approvals', label: 'Approvals' },
  { href: '/users', label: 'Users' },
  { href: '/groups', label: 'Groups' },
  { href: '/service-accounts', label: 'Service accounts' },
  { href: '/api-keys', label: 'API keys' },
  { href: '/audit', label: 'Audit log' },
] as const;

// A client component only to mark the current page (usePathname); the links themselves are static.
export function SideNav() {
  const pathname = usePathname();
  return (
    <nav className="sidenav" aria-label="Main">
      <ul>
        {ITEMS.map((item) => {
          const current = item.href === '/' ? pathname === '/' : pathname.startsWith(item.href);
          return (
            <li key={item.href}>
              <Link href={item.href} aria-current={current ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
