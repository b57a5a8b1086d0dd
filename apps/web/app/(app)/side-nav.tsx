'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { Role } from '@modelyard/contracts';

interface Item {
  href: string;
  label: string;
  /** Pages whose API answers admins only: other roles would only meet a refusal there, so they are not offered. */
  adminOnly?: boolean;
}

const SECTIONS: { title: string | null; items: Item[] }[] = [
  {
    title: null,
    items: [
      { href: '/', label: 'Overview' },
      { href: '/models', label: 'Models' },
      { href: '/jobs', label: 'Jobs' },
      { href: '/approvals', label: 'Approvals' },
    ],
  },
  {
    title: 'Admin',
    items: [
      { href: '/users', label: 'Users', adminOnly: true },
      { href: '/groups', label: 'Groups' },
      { href: '/service-accounts', label: 'Service accounts', adminOnly: true },
      { href: '/api-keys', label: 'API keys' },
      { href: '/webhooks', label: 'Webhooks', adminOnly: true },
      { href: '/audit', label: 'Audit log', adminOnly: true },
    ],
  },
];

// A client component only to mark the current page (usePathname); the links themselves are static.
export function SideNav({ role }: { role: Role | null }) {
  const pathname = usePathname();
  return (
    <nav className="sidenav" aria-label="Main">
      {SECTIONS.map((section) => {
        const items = section.items.filter((i) => !i.adminOnly || role === 'admin');
        if (items.length === 0) return null;
        return (
          <div key={section.title ?? 'main'} className="sidenav-section">
            {section.title ? <p className="sidenav-title">{section.title}</p> : null}
            <ul>
              {items.map((item) => {
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
          </div>
        );
      })}
    </nav>
  );
}
