import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../auth/principal.js';
import { pickPilot, stickyBucket } from './prediction.service.js';

const caller = (groups: string[] = []): Principal => ({
  kind: 'serviceAccount',
  id: 'sa',
  name: 'app',
  email: null,
  project: { id: 'p', name: 'default' },
  role: 'viewer',
  platformAdmin: false,
  groups: groups.map((id) => ({ id, name: id })),
  via: 'apiKey',
  apiKeyId: 'k',
  scopes: ['predict'],
  modelAllowList: [],
  ip: null,
});
const pilot = (
  version: number,
  over: Partial<{ groups: string[]; percentage: number; startsAt: number | null; endsAt: number | null }> = {},
) => ({
  version,
  groups: [],
  percentage: 0,
  startsAt: null,
  endsAt: null,
  ...over,
});

describe('pickPilot', () => {
  it('routes members of a pilot group to the pilot and everyone else to production', () => {
    const pilots = [pilot(2, { groups: ['g1'] })];
    assert.equal(pickPilot(pilots, caller(['g1']), 'm', 'any', 0), 2);
    assert.equal(pickPilot(pilots, caller(['g2']), 'm', 'any', 0), null);
  });

  it('sends about the configured share of distinct routing keys to a percentage pilot, each key always the same way', () => {
    const pilots = [pilot(3, { percentage: 10 })];
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const hits = keys.filter((k) => pickPilot(pilots, caller(), 'iris', k, 0) === 3).length;
    assert.ok(hits >= 140 && hits <= 260, `${hits} of 2000 (10% +- 3%)`);
    for (const k of keys.slice(0, 100))
      assert.equal(pickPilot(pilots, caller(), 'iris', k, 0), pickPilot(pilots, caller(), 'iris', k, 0));
  });

  it('gives two percentage pilots disjoint callers', () => {
    const pilots = [pilot(2, { percentage: 30 }), pilot(3, { percentage: 30 })];
    const counts = new Map<number | null, number>();
    for (let i = 0; i < 3000; i++) {
      const v = pickPilot(pilots, caller(), 'm', `k${i}`, 0);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    for (const v of [2, 3]) assert.ok(Math.abs(counts.get(v)! - 900) < 150, `pilot ${v}: ${counts.get(v)}`);
  });

  it('honours the time window', () => {
    const pilots = [pilot(2, { groups: ['g'], startsAt: 1000, endsAt: 2000 })];
    assert.equal(pickPilot(pilots, caller(['g']), 'm', 'k', 999), null);
    assert.equal(pickPilot(pilots, caller(['g']), 'm', 'k', 1500), 2);
    assert.equal(pickPilot(pilots, caller(['g']), 'm', 'k', 2000), null);
  });

  it('spreads keys over the whole bucket range', () => {
    const buckets = new Set(Array.from({ length: 5000 }, (_, i) => Math.floor(stickyBucket('m', `k${i}`) / 1000)));
    assert.equal(buckets.size, 10);
  });
});
