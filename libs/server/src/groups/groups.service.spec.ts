import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '@modelyard/contracts';
import type { AuthService } from '../auth/auth.service.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { recordedEvents } from '../events/events.test-support.js';
import { AppError } from '../platform/errors.js';
import type { GroupsRepository } from './groups.repository.js';
import { GroupsService } from './groups.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const person = (role: Role) => testPrincipal({ id: `${role}-1`, name: role, role });
const CREATED = new Date(Date.UTC(2030, 0, 1));
const ADA = { kind: 'user', id: 'u1' } as const;
const BOT = { kind: 'serviceAccount', id: 'sa1' } as const;

type Member = { userId?: string; serviceAccountId?: string };

/** Groups with their members, users and service accounts in memory; the unique constraints Postgres keeps. */
function fakes() {
  const users: Record<string, string> = { u1: 'Ada' };
  const accounts: Record<string, string> = { sa1: 'ci-bot' };
  const groups = new Map<string, { id: string; name: string; description: string; members: Member[] }>();
  const state = { invalidations: 0 };
  const unique = () => Object.assign(new Error('Unique constraint failed'), { code: 'P2002' });
  const row = (id: string) => {
    const g = groups.get(id);
    if (!g) return null;
    return {
      ...g,
      idpManaged: false,
      createdAt: CREATED,
      members: g.members.map((m) => ({
        user: m.userId ? { id: m.userId, name: users[m.userId]! } : null,
        serviceAccount: m.serviceAccountId ? { id: m.serviceAccountId, name: accounts[m.serviceAccountId]! } : null,
      })),
    };
  };
  const same = (a: Member, b: Member) => a.userId === b.userId && a.serviceAccountId === b.serviceAccountId;
  const repo = {
    list: async () => [...groups.keys()].map(row),
    findById: async (id: string) => row(id),
    create: async (name: string, description: string) => {
      if ([...groups.values()].some((g) => g.name === name)) throw unique();
      const id = `g${groups.size + 1}`;
      groups.set(id, { id, name, description, members: [] });
      return row(id);
    },
    delete: async (id: string) => ({ count: Number(groups.delete(id)) }),
    addMember: async (id: string, m: Member) => {
      const g = groups.get(id)!;
      if (g.members.some((o) => same(o, m))) throw unique();
      g.members.push(m);
    },
    removeMember: async (id: string, m: Member) => {
      const g = groups.get(id)!;
      const before = g.members.length;
      g.members = g.members.filter((o) => !same(o, m));
      return { count: before - g.members.length };
    },
    userExists: async (id: string) => id in users,
    serviceAccountExists: async (id: string) => id in accounts,
  } as unknown as GroupsRepository;
  const auth = { invalidate: async () => void state.invalidations++ } as unknown as AuthService;
  return { groups, state, repo, auth };
}

describe(GroupsService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: GroupsService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new GroupsService(f.repo, events, f.auth);
  });
  const types = () => events.recorded.map((e) => [e.type, e.objectId, e.data]);

  it('creates a group, records group.created and lists it to a viewer', async () => {
    const g = await sut.create(person('admin'), { name: 'ml', description: 'The ML team' });
    assert.deepEqual(g, {
      id: 'g1',
      name: 'ml',
      description: 'The ML team',
      idpManaged: false,
      createdAt: CREATED.toISOString(),
      members: [],
    });
    assert.deepEqual(types(), [['group.created', 'g1', { name: 'ml' }]]);
    assert.deepEqual(await sut.list(person('viewer')), [g]);
  });

  it('answers 409 for a second group of one name, and records nothing for it', async () => {
    await sut.create(person('admin'), { name: 'ml', description: '' });
    await assert.rejects(sut.create(person('admin'), { name: 'ml', description: 'again' }), (e) => {
      assert.ok(code('CONFLICT')(e));
      assert.equal((e as Error).message, 'A group named ml already exists');
      return true;
    });
    assert.equal(f.groups.size, 1);
    assert.equal(events.recorded.length, 1);
  });

  it('adds users and service accounts as members, and tells every process its cached credentials are stale', async () => {
    await sut.create(person('admin'), { name: 'ml', description: '' });
    await sut.addMember(person('admin'), 'g1', ADA);
    const g = await sut.addMember(person('admin'), 'g1', BOT);
    assert.deepEqual(g.members, [
      { kind: 'user', id: 'u1', name: 'Ada' },
      { kind: 'serviceAccount', id: 'sa1', name: 'ci-bot' },
    ]);
    assert.deepEqual(types().slice(1), [
      ['group.member_added', 'g1', { member: ADA }],
      ['group.member_added', 'g1', { member: BOT }],
    ]);
    assert.equal(f.state.invalidations, 2);
  });

  it('answers 409 for a member added twice, and 404 for an unknown group, user or service account', async () => {
    await sut.create(person('admin'), { name: 'ml', description: '' });
    await sut.addMember(person('admin'), 'g1', ADA);
    await assert.rejects(sut.addMember(person('admin'), 'g1', ADA), code('CONFLICT'));
    await assert.rejects(sut.addMember(person('admin'), 'g9', ADA), code('NOT_FOUND'));
    await assert.rejects(sut.addMember(person('admin'), 'g1', { kind: 'user', id: 'u9' }), /^AppError: User not found/);
    await assert.rejects(
      sut.addMember(person('admin'), 'g1', { kind: 'serviceAccount', id: 'u1' }),
      (e) => code('NOT_FOUND')(e) && (e as Error).message === 'Service account not found',
    );
    assert.equal(f.groups.get('g1')!.members.length, 1);
    assert.equal(events.recorded.length, 2);
    assert.equal(f.state.invalidations, 1);
  });

  it('removes a member and records it; removing a non-member answers 404 and records nothing', async () => {
    await sut.create(person('admin'), { name: 'ml', description: '' });
    await sut.addMember(person('admin'), 'g1', ADA);
    await sut.addMember(person('admin'), 'g1', BOT);
    const g = await sut.removeMember(person('admin'), 'g1', ADA);
    assert.deepEqual(
      g.members.map((m) => m.id),
      ['sa1'],
    );
    assert.deepEqual(types().at(-1), ['group.member_removed', 'g1', { member: ADA }]);
    const before = [events.recorded.length, f.state.invalidations];
    await assert.rejects(
      sut.removeMember(person('admin'), 'g1', ADA),
      (e) => code('NOT_FOUND')(e) && (e as Error).message === 'Membership not found',
    );
    await assert.rejects(sut.removeMember(person('admin'), 'g9', BOT), code('NOT_FOUND'));
    assert.deepEqual([events.recorded.length, f.state.invalidations], before);
  });

  it('deletes a group with group.deleted naming it, and answers 404 for one that is not there', async () => {
    await sut.create(person('admin'), { name: 'ml', description: '' });
    await sut.delete(person('admin'), 'g1');
    assert.equal(f.groups.size, 0);
    assert.deepEqual(types().at(-1), ['group.deleted', 'g1', { name: 'ml' }]);
    assert.equal(f.state.invalidations, 1);
    await assert.rejects(sut.delete(person('admin'), 'g1'), code('NOT_FOUND'));
  });

  it('lets only admins change groups', async () => {
    await sut.create(person('admin'), { name: 'ml', description: '' });
    for (const role of ['viewer', 'scientist'] as const) {
      await assert.rejects(sut.create(person(role), { name: 'x', description: '' }), code('FORBIDDEN'));
      await assert.rejects(sut.addMember(person(role), 'g1', ADA), code('FORBIDDEN'));
      await assert.rejects(sut.removeMember(person(role), 'g1', ADA), code('FORBIDDEN'));
      await assert.rejects(sut.delete(person(role), 'g1'), code('FORBIDDEN'));
    }
    assert.deepEqual([f.groups.size, f.groups.get('g1')!.members.length, events.recorded.length], [1, 0, 1]);
  });
});
