'use client';
import { usePathname } from 'next/navigation';
import type { Role } from '@modelyard/contracts';
import { projectOfPage } from '@modelyard/contracts/dashboard-paths';
import Link from '@/components/project';

interface Item {
  href: string;
  label: string;
  /**
   * Pages whose API answers only the project's admins (`project`) or platform admins (`platform`): other roles
   * would only meet a refusal there, so they are not offered.
   */
  adminOnly?: 'project' | 'platform';
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
      { href: '/settings', label: 'Project settings' },
      { href: '/projects', label: 'Projects', adminOnly: 'platform' },
      { href: '/users', label: 'Users', adminOnly: 'platform' },
      { href: '/groups', label: 'Groups' },
      { href: '/service-accounts', label: 'Service accounts', adminOnly: 'project' },
      { href: '/api-keys', label: 'API keys' },
      { href: '/webhooks', label: 'Webhooks', adminOnly: 'project' },
      { href: '/audit', label: 'Audit log', adminOnly: 'project' },
    ],
  },
];

/**
 * A client component only to mark the current page (usePathname); the links stay in the page's project
 * (components/project.tsx). `role` is the caller's role in that project.
 */
export function SideNav({ role, platformAdmin }: { role: Role | null; platformAdmin: boolean }) {
  // The page without its project prefix, whichever of the two URLs the router reports.
  const pathname = projectOfPage(usePathname()).page;
  const offered = (i: Item) =>
    i.adminOnly === undefined || (i.adminOnly === 'platform' ? platformAdmin : role === 'admin');
  return (
    <nav className="sidenav" aria-label="Main">
      {SECTIONS.map((section) => {
        const items = section.items.filter(offered);
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
