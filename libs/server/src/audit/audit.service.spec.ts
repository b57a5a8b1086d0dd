import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ZAuditQuery, type Role } from '@modelyard/contracts';
import { testPrincipal } from '../auth/principal.test-support.js';
import type { DeliveredEvent } from '../events/event-consumer.js';
import { AppError } from '../platform/errors.js';
import type { AuditFilter, AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const person = (role: Role) => testPrincipal({ id: `${role}-1`, name: role, role });
const q = (over: Record<string, unknown> = {}) => ZAuditQuery.parse(over);
const T0 = Date.UTC(2030, 0, 1);
const event = (n: number, over: Partial<DeliveredEvent> = {}): DeliveredEvent => ({
  id: `e${n}`,
  type: 'model.created',
  actor: { kind: 'apiKey', id: 'sa1', name: 'ci-bot', apiKeyId: 'k1', ip: '203.0.113.9' },
  objectType: 'model',
  objectId: `m${n}`,
  project: 'default',
  data: { model: `model-${n}` },
  createdAt: new Date(T0 + n * 1000),
  ...over,
});

type Row = { id: string; eventId: string; at: Date; [column: string]: any };

/** The audit table in memory: unique by event id, read newest first with the repository's keyset filter. */
function fakes() {
  const rows: Row[] = [];
  const finds: AuditFilter[] = [];
  const infos: unknown[] = [];
  const repo = {
    insertOnce: async (row: { eventId: string; at: Date }) => {
      if (rows.some((r) => r.eventId === row.eventId)) return { count: 0 };
      rows.push({ ...row, id: `a${String(rows.length + 1).padStart(3, '0')}` });
      return { count: 1 };
    },
    find: async (f: AuditFilter) => {
      finds.push(f);
      return rows
        .filter(
          (r) =>
            (!f.projects || f.projects.includes(r.project)) &&
            (!f.action || r.action === f.action) &&
            (!f.actorId || r.actorId === f.actorId) &&
            (!f.from || r.at >= f.from) &&
            (!f.to || r.at <= f.to) &&
            (!f.before || r.at < f.before.at || (r.at.getTime() === f.before.at.getTime() && r.id < f.before.id)),
        )
        .sort((a, b) => b.at.getTime() - a.at.getTime() || b.id.localeCompare(a.id))
        .slice(0, f.limit + 1);
    },
  } as unknown as AuditRepository;
  const log = Object.assign(pino({ level: 'silent' }), { info: (o: unknown) => void infos.push(o) });
  return { rows, finds, infos, repo, log };
}

describe(AuditService.name, () => {
  let f: ReturnType<typeof fakes>;
  let sut: AuditService;
  beforeEach(() => {
    f = fakes();
    sut = new AuditService(f.repo, f.log);
  });

  it('writes one row per event, with who did what to which object, and logs it', async () => {
    await sut.consume(event(1));
    assert.deepEqual(f.rows, [
      {
        id: 'a001',
        eventId: 'e1',
        at: new Date(T0 + 1000),
        actorKind: 'apiKey',
        actorId: 'sa1',
        actorName: 'ci-bot',
        apiKeyId: 'k1',
        ip: '203.0.113.9',
        action: 'model.created',
        objectType: 'model',
        objectId: 'm1',
        project: 'default',
        summary: { model: 'model-1' },
      },
    ]);
    assert.deepEqual(f.infos, [
      { audit: { action: 'model.created', objectType: 'model', objectId: 'm1', actor: 'sa1' } },
    ]);
  });

  it('keys the row by the event id, so an event delivered twice is written once', async () => {
    await sut.consume(event(1));
    await sut.consume(event(1));
    await sut.consume(event(2));
    assert.deepEqual(
      f.rows.map((r) => r.eventId),
      ['e1', 'e2'],
    );
  });

  it('answers entries newest first, a page at a time, with a cursor to the next page', async () => {
    for (let n = 1; n <= 5; n++) await sut.consume(event(n));
    const first = await sut.list(person('admin'), q({ limit: 2 }));
    assert.deepEqual(
      first.items.map((e) => e.objectId),
      ['m5', 'm4'],
    );
    assert.deepEqual(first.items[0], {
      id: 'a005',
      at: new Date(T0 + 5000).toISOString(),
      actor: { kind: 'apiKey', id: 'sa1', name: 'ci-bot' },
      apiKeyId: 'k1',
      ip: '203.0.113.9',
      action: 'model.created',
      objectType: 'model',
      objectId: 'm5',
      project: 'default',
      summary: { model: 'model-5' },
    });
    assert.ok(first.nextCursor);
    const second = await sut.list(person('admin'), q({ limit: 2, cursor: first.nextCursor }));
    const third = await sut.list(person('admin'), q({ limit: 2, cursor: second.nextCursor }));
    assert.deepEqual(
      [...second.items, ...third.items].map((e) => e.objectId),
      ['m3', 'm2', 'm1'],
    );
    assert.equal(third.nextCursor, null);
  });

  it('passes the filters on, times as dates', async () => {
    await sut.consume(event(1));
    await sut.consume(event(2, { type: 'model.deleted' }));
    const from = new Date(T0).toISOString();
    const r = await sut.list(
      person('admin'),
      q({ action: 'model.created', actorId: 'sa1', from, objectType: 'model' }),
    );
    assert.deepEqual(
      r.items.map((e) => e.objectId),
      ['m1'],
    );
    assert.deepEqual(f.finds[0], {
      // An admin of the default project who is also a platform admin: its project's rows and the platform's.
      projects: ['default', null],
      actorId: 'sa1',
      action: 'model.created',
      objectType: 'model',
      objectId: undefined,
      from: new Date(T0),
      to: undefined,
      limit: 100,
      before: undefined,
    });
  });

  it('answers 400 for a cursor it did not make, and 403 to anyone but an admin', async () => {
    await assert.rejects(sut.list(person('admin'), q({ cursor: 'not-a-cursor' })), code('VALIDATION_FAILED'));
    await assert.rejects(sut.list(person('scientist'), q()), code('FORBIDDEN'));
    await assert.rejects(sut.list(person('viewer'), q()), code('FORBIDDEN'));
    assert.equal(f.finds.length, 0);
  });
});
