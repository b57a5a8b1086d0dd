import type { Metadata } from 'next';
import { DEFAULT_PROJECT_NAME, type TProject } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { QUOTA_KEYS, QUOTA_LABELS, quotaText } from '@/lib/project-text';
import { projectAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, type Column } from '@/components/data-table';
import { CreateProjectForm, DeleteProjectButton, EditProjectForm } from './project-controls';

export const metadata: Metadata = { title: 'Projects' };

function columns(canAdminister: boolean): Column<TProject>[] {
  return [
    {
      key: 'name',
      header: 'Project',
      rowHeader: true,
      sort: (p) => p.name,
      // A whole page load: the shell (role, navigation) is the project's.
      cell: (p) => (
        <a className="strong-link" href={p.name === DEFAULT_PROJECT_NAME ? '/' : `/projects/${p.name}`}>
          {p.name}
        </a>
      ),
    },
    { key: 'description', header: 'Description', cell: (p) => p.description || '—', hideBelow: 'md' },
    {
      key: 'role',
      header: 'Your role',
      nowrap: true,
      cell: (p) => (p.role ? <span className={`badge badge-role-${p.role}`}>{p.role}</span> : '—'),
    },
    {
      key: 'quotas',
      header: 'Quotas',
      className: 'small',
      cell: (p) => (
        <ul className="plain-list">
          {QUOTA_KEYS.map((k) => (
            <li key={k}>
              {QUOTA_LABELS[k]}: {quotaText(k, p.quotas[k])}
            </li>
          ))}
        </ul>
      ),
    },
    { key: 'created', header: 'Created', cell: (p) => formatTime(p.createdAt), sort: (p) => p.createdAt, nowrap: true },
    ...(canAdminister
      ? [
          {
            key: 'actions',
            header: <span className="visually-hidden">Actions</span>,
            cell: (p: TProject) => (
              <div className="row-actions">
                <details className="inline-details">
                  <summary aria-label={`Edit project ${p.name}`}>Edit</summary>
                  <EditProjectForm name={p.name} description={p.description} quotas={p.quotas} />
                </details>
                {p.name === DEFAULT_PROJECT_NAME ? null : <DeleteProjectButton name={p.name} />}
              </div>
            ),
          },
        ]
      : []),
  ];
}

/** Every project (platform admins; anyone else sees the projects they have a role in). */
export default async function ProjectsPage() {
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canAdminister } = projectAbilities(me.data.role, me.data.platformAdmin);
  const projects = await load((api) => api.listProjects(), DEFAULT_PROJECT_NAME);
  return (
    <>
      <PageHeader title="Projects">
        Each team&apos;s models, jobs, keys and webhooks live in a project of their own; a project&apos;s admins decide
        who has which role in it (its settings page), platform admins create projects and set their quotas.
      </PageHeader>
      {canAdminister ? (
        <section className="card">
          <h2>Create project</h2>
          <CreateProjectForm />
        </section>
      ) : null}
      <section className="card">
        <h2>{canAdminister ? 'All projects' : 'Your projects'}</h2>
        {projects.ok ? (
          <DataTable
            label="Projects"
            rows={projects.data}
            rowKey={(p) => p.id}
            columns={columns(canAdminister)}
            pageSize={50}
            empty="No projects yet."
          />
        ) : (
          <ErrorAlert message={projects.message} />
        )}
      </section>
    </>
  );
}
