import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '@modelyard/contracts';
import type { AuthService } from '../auth/auth.service.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { recordedEvents } from '../events/events.test-support.js';
import { AppError } from '../platform/errors.js';
import type { ServiceAccountsRepository } from './service-accounts.repository.js';
import { ServiceAccountsService } from './service-accounts.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const person = (role: Role) => testPrincipal({ id: `${role}-1`, name: role, role });
const CREATED = new Date(Date.UTC(2030, 0, 1));
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

type Row = { id: string; name: string; description: string; role: Role; disabled: boolean; createdAt: Date };

/** Service accounts in memory with Postgres's unique name (rows read are copies); the ids looked up. */
function fakes() {
  const rows = new Map<string, Row>();
  const state = { invalidations: 0, lookups: [] as string[] };
  const repo = {
    list: async () => [...rows.values()].sort((a, b) => a.name.localeCompare(b.name)),
    findById: async (id: string) => (state.lookups.push(id), rows.has(id) ? { ...rows.get(id)! } : null),
    findByName: async (name: string) => [...rows.values()].find((r) => r.name === name) ?? null,
    create: async (data: { name: string; description: string; role: Role }) => {
      if ([...rows.values()].some((r) => r.name === data.name))
        throw Object.assign(new Error('Unique constraint failed'), { code: 'P2002' });
      const row = { ...data, id: uuid(rows.size + 1), disabled: false, createdAt: CREATED };
      rows.set(row.id, row);
      return row;
    },
    update: async (id: string, data: Partial<Row>) => {
      const defined = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
      return { ...Object.assign(rows.get(id)!, defined) };
    },
  } as unknown as ServiceAccountsRepository;
  const auth = { invalidate: async () => void state.invalidations++ } as unknown as AuthService;
  return { rows, state, repo, auth };
}

describe(ServiceAccountsService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: ServiceAccountsService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new ServiceAccountsService(f.repo, events, f.auth);
  });
  const bot = () => sut.create(person('admin'), { name: 'ci-bot', description: 'CI', role: 'scientist' });

  it('creates a service account, records serviceAccount.created with its role, and lists it', async () => {
    const sa = await bot();
    assert.deepEqual(sa, {
      id: uuid(1),
      name: 'ci-bot',
      description: 'CI',
      role: 'scientist',
      disabled: false,
      createdAt: CREATED.toISOString(),
    });
    assert.deepEqual(
      events.recorded.map((e) => [e.type, e.objectId, e.data]),
      [['serviceAccount.created', uuid(1), { name: 'ci-bot', role: 'scientist' }]],
    );
    assert.deepEqual(await sut.list(person('admin')), [sa]);
    assert.deepEqual(await sut.findByName('ci-bot'), sa);
    assert.equal(await sut.findByName('nobody'), null);
  });

  it('answers 409 for a second account of one name and records nothing for it', async () => {
    await bot();
    await assert.rejects(
      sut.create(person('admin'), { name: 'ci-bot', description: '', role: 'viewer' }),
      (e) => code('CONFLICT')(e) && (e as Error).message === 'A service account named ci-bot already exists',
    );
    assert.deepEqual([f.rows.size, events.recorded.length], [1, 1]);
  });

  it('records a role change with before and after, and drops cached keys so it applies at once', async () => {
    await bot();
    const sa = await sut.update(person('admin'), uuid(1), { role: 'viewer' });
    assert.equal(sa.role, 'viewer');
    assert.deepEqual(events.recorded.at(-1), {
      type: 'serviceAccount.updated',
      objectId: uuid(1),
      data: {
        name: 'ci-bot',
        before: { role: 'scientist', disabled: false },
        after: { role: 'viewer', disabled: false },
      },
    });
    assert.equal(f.state.invalidations, 1);
    await sut.update(person('admin'), uuid(1), { disabled: true });
    assert.equal(f.rows.get(uuid(1))!.disabled, true);
    assert.equal(f.state.invalidations, 2);
  });

  it('keeps cached keys when nothing a key depends on changed (description, or the same role)', async () => {
    await bot();
    const sa = await sut.update(person('admin'), uuid(1), { description: 'nightly scoring' });
    assert.equal(sa.description, 'nightly scoring');
    await sut.update(person('admin'), uuid(1), { role: 'scientist' });
    assert.equal(f.state.invalidations, 0);
    assert.equal(events.recorded.length, 3);
  });

  it('answers 404 for an unknown account, without asking the database about ids that are not uuids', async () => {
    await assert.rejects(sut.update(person('admin'), uuid(9), { role: 'admin' }), code('NOT_FOUND'));
    await assert.rejects(sut.update(person('admin'), "1' OR 1=1", { role: 'admin' }), code('NOT_FOUND'));
    assert.deepEqual(f.state.lookups, [uuid(9)]);
    assert.deepEqual(events.recorded, []);
  });

  it('is for admins only', async () => {
    await bot();
    for (const role of ['viewer', 'scientist'] as const) {
      await assert.rejects(sut.list(person(role)), code('FORBIDDEN'));
      await assert.rejects(sut.create(person(role), { name: 'x', description: '', role: 'admin' }), code('FORBIDDEN'));
      await assert.rejects(sut.update(person(role), uuid(1), { role: 'admin' }), code('FORBIDDEN'));
    }
    assert.deepEqual([f.rows.size, f.rows.get(uuid(1))!.role], [1, 'scientist']);
  });
});
