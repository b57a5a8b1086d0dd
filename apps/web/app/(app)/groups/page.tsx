import type { Metadata } from 'next';
import { getMe, load } from '@/lib/api.server';
import { formatTime } from '@/lib/format';
import { ErrorAlert } from '@/components/alert';
import { PageHeader } from '@/components/page-header';
import {
  AddMemberForm,
  CreateGroupForm,
  DeleteGroupButton,
  RemoveMemberButton,
  type Candidate,
} from './group-controls';

export const metadata: Metadata = { title: 'Groups' };

export default async function GroupsPage() {
  const me = await getMe();
  // Only admins may change groups (and list users and service accounts to pick from); the API enforces
  // that, this only avoids offering controls that would be refused.
  const isAdmin = me.ok && me.data.role === 'admin';
  const [groups, users, serviceAccounts] = await Promise.all([
    load((api) => api.listGroups()),
    isAdmin ? load((api) => api.listUsers({ limit: 500 })) : null,
    isAdmin ? load((api) => api.listServiceAccounts()) : null,
  ]);

  const candidates: Candidate[] = [
    ...(users?.ok
      ? users.data.items
          .filter((u) => !u.disabled)
          .map((u) => ({
            kind: 'user' as const,
            id: u.id,
            name: u.name && u.name !== u.email ? `${u.name} (${u.email})` : u.email,
          }))
      : []),
    ...(serviceAccounts?.ok
      ? serviceAccounts.data
          .filter((s) => !s.disabled)
          .map((s) => ({ kind: 'serviceAccount' as const, id: s.id, name: s.name }))
      : []),
  ];

  return (
    <>
      <PageHeader title="Groups">
        Groups collect users and service accounts so access can be granted to many at once.
      </PageHeader>
      {users && !users.ok ? <ErrorAlert message={`Cannot list users: ${users.message}`} /> : null}
      {serviceAccounts && !serviceAccounts.ok ? (
        <ErrorAlert message={`Cannot list service accounts: ${serviceAccounts.message}`} />
      ) : null}
      {isAdmin ? (
        <section className="card">
          <h2>Create group</h2>
          <CreateGroupForm />
        </section>
      ) : null}
      {!groups.ok ? (
        <ErrorAlert message={groups.message} />
      ) : groups.data.length === 0 ? (
        <section className="card empty-state">
          <p className="muted">No groups yet.</p>
        </section>
      ) : (
        <ul className="group-list" aria-label="Groups">
          {groups.data.map((g) => {
            const memberIds = new Set(g.members.map((m) => `${m.kind}:${m.id}`));
            return (
              <li key={g.id} className="card group-card" aria-labelledby={`group-${g.id}`}>
                <div className="group-card-head">
                  <div>
                    <h2 id={`group-${g.id}`}>{g.name}</h2>
                    <p className="muted small">
                      {g.description ? `${g.description} · ` : ''}created {formatTime(g.createdAt)}
                    </p>
                  </div>
                  {isAdmin ? <DeleteGroupButton groupId={g.id} groupName={g.name} /> : null}
                </div>
                {g.members.length === 0 ? (
                  <p className="muted">No members.</p>
                ) : (
                  <ul className="member-list" aria-label={`Members of ${g.name}`}>
                    {g.members.map((m) => (
                      <li key={`${m.kind}:${m.id}`}>
                        <span>{m.name}</span>
                        <span className="badge badge-muted">{m.kind === 'user' ? 'user' : 'service account'}</span>
                        {isAdmin ? <RemoveMemberButton groupId={g.id} groupName={g.name} member={m} /> : null}
                      </li>
                    ))}
                  </ul>
                )}
                {isAdmin ? (
                  <AddMemberForm
                    groupId={g.id}
                    groupName={g.name}
                    candidates={candidates.filter((c) => !memberIds.has(`${c.kind}:${c.id}`))}
                  />
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
