import type { Metadata } from 'next';
import type { TProjectGrant } from '@modelyard/contracts';
import { getMe, load } from '@/lib/api.server';
import { QUOTA_KEYS, QUOTA_LABELS, quotaText } from '@/lib/project-text';
import { projectAbilities } from '@/lib/roles';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import { DataTable, type Column } from '@/components/data-table';
import { AddGrantForm, DescriptionForm, GrantRoleForm, RemoveGrantButton } from './grant-controls';

export const metadata: Metadata = { title: 'Project settings' };

const RoleBadge = ({ role }: { role: string }) => <span className={`badge badge-role-${role}`}>{role}</span>;

function grantColumns(canManage: boolean): Column<TProjectGrant>[] {
  return [
    { key: 'name', header: 'Member', cell: (g) => g.name, sort: (g) => g.name, rowHeader: true },
    { key: 'kind', header: 'Kind', cell: (g) => g.kind, sort: (g) => g.kind, nowrap: true },
    {
      key: 'role',
      header: 'Role',
      sort: (g) => g.role,
      nowrap: true,
      cell: (g) => (
        <>
          <RoleBadge role={g.role} />
          {canManage ? <GrantRoleForm kind={g.kind} id={g.id} name={g.name} role={g.role} /> : null}
        </>
      ),
    },
    ...(canManage
      ? [
          {
            key: 'actions',
            header: <span className="visually-hidden">Actions</span>,
            cell: (g: TProjectGrant) => <RemoveGrantButton kind={g.kind} id={g.id} name={g.name} />,
          },
        ]
      : []),
  ];
}

/**
 * The project the page is in: what it is, its quotas, and who has which role in it. Everyone with a role sees
 * the project; only its admins (and platform admins) see and change the members, as the API allows.
 */
export default async function SettingsPage() {
  const me = await getMe();
  if (!me.ok) return null; // the layout shows why
  const { canManage } = projectAbilities(me.data.role, me.data.platformAdmin);
  const [project, grants, groups] = await Promise.all([
    load((api) => api.getProject()),
    canManage ? load((api) => api.listProjectGrants()) : null,
    canManage ? load((api) => api.listGroups()) : null,
  ]);
  if (!project.ok) return <ErrorAlert message={project.message} />;
  const p = project.data;
  return (
    <>
      <PageHeader title="Project settings">
        Project <strong>{p.name}</strong>: its models, jobs, keys and webhooks are seen only by its members.
      </PageHeader>
      <section className="card" aria-labelledby="project-about">
        <h2 id="project-about">About</h2>
        <dl className="details">
          <div>
            <dt>Name</dt>
            <dd className="mono">{p.name}</dd>
          </div>
          <div>
            <dt>Your role</dt>
            <dd>{p.role ? <RoleBadge role={p.role} /> : '—'}</dd>
          </div>
          {QUOTA_KEYS.map((k) => (
            <div key={k}>
              <dt>{QUOTA_LABELS[k]}</dt>
              <dd>{quotaText(k, p.quotas[k])}</dd>
            </div>
          ))}
        </dl>
        {canManage ? (
          <DescriptionForm description={p.description} />
        ) : (
          <p>{p.description || <span className="muted">No description.</span>}</p>
        )}
      </section>
      <section className="card" aria-labelledby="project-members">
        <h2 id="project-members">Members</h2>
        {!canManage || !grants ? (
          <p className="muted">Only the project&apos;s admins see who has which role in it.</p>
        ) : !grants.ok ? (
          <ErrorAlert message={grants.message} />
        ) : (
          <>
            <p className="muted small">
              Users and groups with a role here; a user in a group has the higher of the two roles. Platform admins are
              admins in every project.
            </p>
            <DataTable
              label="Members"
              rows={grants.data}
              rowKey={(g) => `${g.kind}:${g.id}`}
              columns={grantColumns(canManage)}
              pageSize={50}
              empty="Nobody has a role in this project yet."
            />
            <h3>Add a member</h3>
            <AddGrantForm groups={groups?.ok ? groups.data : []} />
          </>
        )}
      </section>
    </>
  );
}
