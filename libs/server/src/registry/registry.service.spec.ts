import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { Role } from '@modelyard/contracts';
import { RegistryService } from './registry.service.js';
import type { RegistryRepository } from './registry.repository.js';
import type { ArtifactStore, ModelJobs } from './ports.js';
import { recordedEvents } from '../events/events.test-support.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { AppError } from '../platform/errors.js';
import type { ProjectQuotas } from '../projects/quotas.service.js';

const person = (role: Role, id = `${role}-1`) => testPrincipal({ role, id, name: id, email: null });

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

type Version = { id: string; number: number; stage: string; status: string; aliases: { name: string }[] };

/** An in-memory stand-in for the registry's tables: one model, its versions, approvals and a deployment. */
function fakeRegistry(requiresApproval = false) {
  const model = { id: 'm1', name: 'iris', requiresApproval };
  const versions: Version[] = [];
  const approvals: { id: string; versionId: string; status: string; requestedById: string | null }[] = [];
  const deleted: string[] = [];
  let deployment: unknown = null;
  const row = (v: Version) => ({
    ...v,
    modelId: model.id,
    model: { name: model.name },
    failureReason: null,
    description: '',
    storageBackend: 'local',
    storageUri: `file:///r/${v.id}`,
    servingUri: null,
    ownedArtifact: true,
    sha256: null,
    sizeBytes: null,
    signature: null,
    metadata: {},
    tags: {},
    metrics: {},
    lineage: {},
    sampleInput: null,
    sampleOutput: null,
    referenceUri: null,
    createdByKind: 'user',
    createdById: null,
    createdByName: null,
    createdByKeyId: null,
    createdAt: new Date(0),
    readyAt: null,
  });
  const approvalRow = (a: (typeof approvals)[number]) => {
    const v = versions.find((x) => x.id === a.versionId)!;
    return {
      ...a,
      modelId: model.id,
      model: { name: model.name },
      version: { id: v.id, number: v.number },
      toStage: 'Production',
      archivePrevious: true,
      comment: '',
      requestedByKind: 'user',
      requestedByName: a.requestedById,
      decidedByKind: null,
      decidedById: null,
      decidedByName: null,
      decisionComment: '',
      createdAt: new Date(0),
      decidedAt: null,
    };
  };
  const repo = {
    findModel: async (name: string) =>
      name === model.name
        ? { ...model, versions: versions.map((v) => ({ number: v.number, stage: v.stage })), aliases: [] }
        : null,
    findVersion: async (name: string, n: number) => {
      const v = versions.find((x) => x.number === n);
      return name === model.name && v ? row(v) : null;
    },
    findVersionById: async (id: string) => {
      const v = versions.find((x) => x.id === id);
      return v ? row(v) : null;
    },
    currentDeployment: async () => (deployment ? { revision: 1, config: deployment } : null),
    deleteVersion: async (id: string) => {
      deleted.push(id);
    },
    addHistory: async () => ({}),
    pendingApprovalFor: async (versionId: string) =>
      approvals.find((a) => a.versionId === versionId && a.status === 'pending') ?? null,
    createApproval: async (data: { versionId: string; requestedById: string | null }) => {
      const a = {
        id: `a${approvals.length + 1}`,
        versionId: data.versionId,
        status: 'pending',
        requestedById: data.requestedById,
      };
      approvals.push(a);
      return approvalRow(a);
    },
    findApproval: async (id: string) => {
      const a = approvals.find((x) => x.id === id);
      return a ? approvalRow(a) : null;
    },
    decideApproval: async (id: string, data: { status: string }) => {
      const a = approvals.find((x) => x.id === id && x.status === 'pending');
      if (a) a.status = data.status;
      return { count: a ? 1 : 0 };
    },
    transition: async (_m: string, versionId: string, stage: string, archiveOthers: boolean) => {
      const v = versions.find((x) => x.id === versionId)!;
      const from = v.stage;
      const archived = stage === 'Production' && archiveOthers ? versions.filter((o) => o.stage === 'Production') : [];
      for (const o of archived) o.stage = 'Archived';
      v.stage = stage;
      return { version: row(v), from, archived: archived.map((o) => ({ id: o.id, number: o.number })) };
    },
  } as unknown as RegistryRepository;
  const store = { delete: async () => {}, deleteAll: async () => [] } as unknown as ArtifactStore;
  return {
    repo,
    store,
    versions,
    approvals,
    deleted,
    add: (v: Partial<Version> & { number: number }) =>
      versions.push({ id: `v${v.number}`, stage: 'None', status: 'ready', aliases: [], ...v }),
    deploy: (config: unknown) => {
      deployment = config;
    },
  };
}

/** A project without quotas (projects/quotas.int-spec.ts tests them against Postgres). */
const unlimited = {
  roomForVersion: async () => null,
  admitVersion: async () => {},
  admitJob: async () => {},
  checkJobRoom: async () => {},
  tryAdmitJob: async () => true,
} as unknown as ProjectQuotas;

/** Models without jobs (projects/quotas.int-spec.ts deletes a model with jobs against Postgres). */
const noJobs: ModelJobs = { activeCount: async () => 0, files: async () => [] };

describe(RegistryService.name, () => {
  let fake: ReturnType<typeof fakeRegistry>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: RegistryService;
  const make = (requiresApproval = false) => {
    fake = fakeRegistry(requiresApproval);
    events = recordedEvents();
    sut = new RegistryService(fake.repo, events, fake.store, {} as Logger, unlimited, noJobs);
  };
  beforeEach(() => make());

  describe('transition', () => {
    it('lets a scientist stage a ready version, and records one stage event', async () => {
      fake.add({ number: 1 });
      const r = await sut.transition(person('scientist'), 'iris', 1, {
        stage: 'Staging',
        comment: '',
        archivePrevious: true,
      });
      assert.equal(r.outcome, 'transitioned');
      assert.equal(r.version.stage, 'Staging');
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.data]),
        [['version.stage_changed', { model: 'iris', version: 1, from: 'None', to: 'Staging', comment: '' }]],
      );
    });

    it('refuses a scientist moving a version into Production (403) and changes nothing', async () => {
      fake.add({ number: 1 });
      await assert.rejects(
        sut.transition(person('scientist'), 'iris', 1, { stage: 'Production', comment: '', archivePrevious: true }),
        code('FORBIDDEN'),
      );
      assert.equal(fake.versions[0]!.stage, 'None');
      assert.deepEqual(events.recorded, []);
    });

    it('refuses to stage a version that is not ready (409)', async () => {
      fake.add({ number: 1, status: 'pending' });
      await assert.rejects(
        sut.transition(person('approver'), 'iris', 1, { stage: 'Staging', comment: '', archivePrevious: true }),
        code('CONFLICT'),
      );
    });

    it('archives the previous Production version on a promotion: one event per version that moved', async () => {
      fake.add({ number: 1, stage: 'Production' });
      fake.add({ number: 2 });
      const r = await sut.transition(person('approver'), 'iris', 2, {
        stage: 'Production',
        comment: 'ship',
        archivePrevious: true,
      });
      assert.deepEqual(r.archived, [1]);
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId, (e.data as { to: string }).to]),
        [
          ['version.stage_changed', 'v1', 'Archived'],
          ['version.stage_changed', 'v2', 'Production'],
        ],
      );
    });
  });

  describe('approvals (the model requires them)', () => {
    beforeEach(() => make(true));

    it('turns a promotion into a request, and refuses a second pending one', async () => {
      fake.add({ number: 1 });
      const r = await sut.transition(person('approver'), 'iris', 1, {
        stage: 'Production',
        comment: '',
        archivePrevious: true,
      });
      assert.equal(r.outcome, 'approval_requested');
      assert.equal(fake.versions[0]!.stage, 'None', 'nothing promoted yet');
      assert.deepEqual(
        events.recorded.map((e) => e.type),
        ['approval.requested'],
      );
      await assert.rejects(
        sut.transition(person('approver'), 'iris', 1, { stage: 'Production', comment: '', archivePrevious: true }),
        code('CONFLICT'),
      );
    });

    it('needs a second approver: the requester cannot accept their own request', async () => {
      fake.add({ number: 1 });
      const requester = person('approver', 'ann');
      const r = await sut.transition(requester, 'iris', 1, { stage: 'Production', comment: '', archivePrevious: true });
      await assert.rejects(sut.decideApproval(requester, r.approvalRequestId!, true, ''), code('FORBIDDEN'));
      const decided = await sut.decideApproval(person('approver', 'bob'), r.approvalRequestId!, true, 'ok');
      assert.equal(decided.status, 'approved');
      assert.equal(fake.versions[0]!.stage, 'Production');
      assert.deepEqual(
        events.recorded.map((e) => e.type),
        ['approval.requested', 'approval.decided', 'version.stage_changed'],
      );
    });

    it('a rejected request promotes nothing, and cannot be decided twice', async () => {
      fake.add({ number: 1 });
      const r = await sut.transition(person('approver', 'ann'), 'iris', 1, {
        stage: 'Production',
        comment: '',
        archivePrevious: true,
      });
      await sut.decideApproval(person('approver', 'bob'), r.approvalRequestId!, false, 'no');
      assert.equal(fake.versions[0]!.stage, 'None');
      await assert.rejects(
        sut.decideApproval(person('approver', 'cy'), r.approvalRequestId!, true, ''),
        code('CONFLICT'),
      );
    });
  });

  describe('deleteVersion', () => {
    it('refuses a Production version, an aliased one and one the deployment uses; deletes the rest', async () => {
      fake.add({ number: 1, stage: 'Production' });
      fake.add({ number: 2, aliases: [{ name: 'champion' }] });
      fake.add({ number: 3 });
      fake.add({ number: 4 });
      fake.deploy({ production: { mode: 'stage' }, pilots: [{ version: 3 }], silent: [] });
      const scientist = person('scientist');
      for (const n of [1, 2, 3])
        await assert.rejects(sut.deleteVersion(scientist, 'iris', n), code('CONFLICT'), `v${n}`);
      await sut.deleteVersion(scientist, 'iris', 4);
      assert.deepEqual(fake.deleted, ['v4']);
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId]),
        [['version.deleted', 'v4']],
      );
    });

    it('answers 404 for a version the model does not have', async () => {
      await assert.rejects(sut.deleteVersion(person('scientist'), 'iris', 9), code('NOT_FOUND'));
    });
  });
});
