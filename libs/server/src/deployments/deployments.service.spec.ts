import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Role, TDeploymentConfig } from '@modelyard/contracts';
import { DeploymentsService } from './deployments.service.js';
import type { DeploymentsRepository } from './deployments.repository.js';
import { recordedEvents } from '../events/events.test-support.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { AppError } from '../platform/errors.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import type { RegistryService } from '../registry/registry.service.js';

const GROUP = '6f0c7d1e-0000-4000-8000-000000000001';
const OTHER = '6f0c7d1e-0000-4000-8000-000000000002';

const person = (role: Role, groups: string[] = []) =>
  testPrincipal({ role, id: `${role}-1`, name: role, email: null, groups: groups.map((id) => ({ id, name: id })) });

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const config = (over: Partial<TDeploymentConfig> = {}): TDeploymentConfig => ({
  production: { mode: 'stage' },
  pilots: [],
  silent: [],
  ...over,
});
const pilot = (version: number, over: Partial<TDeploymentConfig['pilots'][number]> = {}) => ({
  version,
  groups: [],
  percentage: 0,
  ...over,
});

/** Revisions kept in memory; versions 1-3 are ready, 4 is still pending validation. */
function fakes() {
  const revisions: { number: number; config: unknown; comment: string }[] = [];
  const row = (r: (typeof revisions)[number]) => ({
    ...r,
    createdAt: new Date(0),
    authorKind: 'user',
    authorId: null,
    authorName: null,
  });
  const repo = {
    revision: async (_m: string, n: number) => {
      const r = revisions.find((x) => x.number === n);
      return r ? row(r) : null;
    },
    append: async (_m: string, c: unknown, _a: unknown, comment: string) => {
      const r = { number: revisions.length + 1, config: c, comment };
      revisions.push(r);
      return row(r);
    },
  } as unknown as DeploymentsRepository;
  const registryRepo = {
    currentDeployment: async () => (revisions.length ? row(revisions.at(-1)!) : null),
    findModel: async (name: string) => (name === 'iris' ? { id: 'm1', name } : null),
    findVersion: async (_m: string, n: number) =>
      n <= 4 ? { number: n, status: n === 4 ? 'pending' : 'ready' } : null,
  } as unknown as RegistryRepository;
  return { repo, registryRepo, revisions };
}

describe(DeploymentsService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: DeploymentsService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new DeploymentsService(f.repo, f.registryRepo, {} as RegistryService, events);
  });

  it('lets an approver pin production and records the change with before and after', async () => {
    const r = await sut.put(person('approver'), 'iris', {
      config: config({ production: { mode: 'pinned', version: 2 } }),
      comment: 'pin',
    });
    assert.equal(r.revision, 1);
    assert.deepEqual(
      events.recorded.map((e) => e.type),
      ['deployment.changed'],
    );
    const data = events.recorded[0]!.data as { before: TDeploymentConfig; after: TDeploymentConfig; revision: number };
    assert.deepEqual(
      [data.before.production, data.after.production, data.revision],
      [{ mode: 'stage' }, { mode: 'pinned', version: 2 }, 1],
    );
  });

  it('refuses a scientist changing production or a percentage pilot (403), and writes no revision', async () => {
    const scientist = person('scientist', [GROUP]);
    await assert.rejects(
      sut.put(scientist, 'iris', { config: config({ production: { mode: 'pinned', version: 2 } }), comment: '' }),
      code('FORBIDDEN'),
    );
    await assert.rejects(
      sut.put(scientist, 'iris', { config: config({ pilots: [pilot(2, { percentage: 10 })] }), comment: '' }),
      code('FORBIDDEN'),
    );
    assert.deepEqual([f.revisions, events.recorded], [[], []]);
  });

  it('lets a scientist pilot to their own groups and add silent versions, not to another group', async () => {
    const scientist = person('scientist', [GROUP]);
    await sut.put(scientist, 'iris', {
      config: config({ pilots: [pilot(2, { groups: [GROUP] })], silent: [{ version: 3, sampleRate: 1 }] }),
      comment: '',
    });
    await assert.rejects(
      sut.put(scientist, 'iris', {
        config: config({ pilots: [pilot(2, { groups: [GROUP] }), pilot(3, { groups: [OTHER] })] }),
        comment: '',
      }),
      code('FORBIDDEN'),
    );
    assert.equal(f.revisions.length, 1);
  });

  it('refuses versions that do not exist or are not ready, and pilots over 100 % (400)', async () => {
    const approver = person('approver');
    await assert.rejects(
      sut.put(approver, 'iris', { config: config({ silent: [{ version: 9, sampleRate: 1 }] }), comment: '' }),
      code('VALIDATION_FAILED'),
    );
    await assert.rejects(
      sut.put(approver, 'iris', { config: config({ pilots: [pilot(4, { percentage: 5 })] }), comment: '' }),
      code('VALIDATION_FAILED'),
    );
    await assert.rejects(
      sut.put(approver, 'iris', {
        config: config({ pilots: [pilot(2, { percentage: 60 }), pilot(3, { percentage: 50 })] }),
        comment: '',
      }),
      code('VALIDATION_FAILED'),
    );
  });

  it('rolls back to the revision before by writing it again as a new revision', async () => {
    const approver = person('approver');
    await sut.put(approver, 'iris', { config: config({ pilots: [pilot(2, { percentage: 5 })] }), comment: 'one' });
    await sut.put(approver, 'iris', { config: config({ pilots: [pilot(3, { percentage: 5 })] }), comment: 'two' });
    const r = await sut.rollback(approver, 'iris', { comment: '' });
    assert.equal(r.revision, 3);
    assert.equal(r.config.pilots[0]!.version, 2);
    assert.equal(r.comment, 'rollback to revision 1');
  });

  it('has nothing to roll back to without an earlier revision (409), and 404 for an unknown model', async () => {
    await assert.rejects(sut.rollback(person('approver'), 'iris', { comment: '' }), code('CONFLICT'));
    await assert.rejects(sut.get(person('viewer'), 'nope'), code('NOT_FOUND'));
  });
});
