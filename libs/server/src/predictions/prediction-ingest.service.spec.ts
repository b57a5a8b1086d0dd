import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rowOf } from './prediction-ingest.service.js';
import type { PredictionLogEntry } from './prediction-log.js';

const PID = '0b0e3f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const AT = '2030-01-01T00:00:00.000Z';
const entry = (n: number, over: Partial<PredictionLogEntry> = {}): PredictionLogEntry => ({
  model: 'iris',
  version: 2,
  role: 'production',
  silent: false,
  at: AT,
  features: [{ x: n }],
  outputs: [{ label: n % 3 }],
  latencyMs: 1.5,
  ...over,
});

// The drain itself (claims, takeovers, each chunk once) runs against real Redis and Postgres in
// prediction-log.int-spec.ts; these are the rows one entry becomes.
describe(rowOf.name, () => {
  it('turns a logged prediction into its row, the timestamp as a date, with its trace', () => {
    assert.deepEqual(rowOf(JSON.stringify(entry(1))), {
      model: 'iris',
      version: 2,
      role: 'production',
      silent: false,
      at: new Date(AT),
      features: [{ x: 1 }],
      outputs: [{ label: 1 }],
      latencyMs: 1.5,
      predictionId: null,
      entityIds: [],
      callerGroups: [],
    });
    const trace = { predictionId: PID, entityIds: ['order-7'], callerGroups: ['beta'] };
    const r = rowOf(JSON.stringify(entry(2, { role: 'silent', silent: true, version: 3, ...trace })))!;
    assert.deepEqual(
      [r.role, r.silent, r.version, r.predictionId, r.entityIds, r.callerGroups],
      ['silent', true, 3, PID, ['order-7'], ['beta']],
    );
  });

  it('keeps a malformed trace out of the row instead of failing the chunk', () => {
    const hostile = { predictionId: 'x; DROP', entityIds: [1, 'e'], callerGroups: 'g' };
    const r = rowOf(JSON.stringify(entry(1, hostile as unknown as Partial<PredictionLogEntry>)))!;
    assert.deepEqual([r.predictionId, r.entityIds, r.callerGroups], [null, ['e'], []]);
  });

  it('skips what is not JSON or not an entry: no model, a version that is no integer, a date that is none', () => {
    assert.equal(rowOf('{not json'), null);
    assert.equal(rowOf('null'), null);
    assert.equal(rowOf(JSON.stringify({ ...entry(1), model: 7 })), null);
    assert.equal(rowOf(JSON.stringify({ ...entry(1), version: '2' })), null);
    assert.equal(rowOf(JSON.stringify({ ...entry(1), at: 'yesterday' })), null);
    assert.equal(rowOf(JSON.stringify({ ...entry(1), latencyMs: null })), null);
  });
});
