import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { csvRows, parseFeedback } from './feedback-parse.js';
import { AppError } from '../platform/errors.js';

const ID = '3f1e2d4c-5b6a-4789-8abc-0123456789ab';
const refused = (fn: () => unknown, status: number, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.status === status && message.test(e.message));

describe('parseFeedback', () => {
  it('reads one item, a list, CSV with a header and JSON Lines', () => {
    assert.deepEqual(parseFeedback({ predictionId: ID, label: 'setosa' }, 'application/json'), [
      { predictionId: ID, label: 'setosa' },
    ]);
    assert.deepEqual(parseFeedback({ labels: [{ entityId: 'o-1', label: 2.5 }] }, 'application/json; charset=utf-8'), [
      { entityId: 'o-1', label: 2.5 },
    ]);
    assert.deepEqual(parseFeedback(`predictionId,row,entityId,label\r\n${ID},1,,"a, b"\n,,o-2,3\n`, 'text/csv'), [
      { predictionId: ID, row: 1, label: 'a, b' },
      { entityId: 'o-2', label: 3 },
    ]);
    assert.deepEqual(
      parseFeedback(
        `{"entityId":"o-3","label":0}\n\n{"predictionId":"${ID}","row":2,"label":1}`,
        'application/x-ndjson',
      ),
      [
        { entityId: 'o-3', label: 0 },
        { predictionId: ID, row: 2, label: 1 },
      ],
    );
  });

  it('refuses bad ids, wrong types, unknown columns and media types with a 4xx naming the place', () => {
    refused(() => parseFeedback({ predictionId: 'x', label: 1 }, 'application/json'), 400, /body: predictionId/);
    refused(() => parseFeedback({ entityId: 'a,b', label: 1 }, 'application/json'), 400, /entityId/);
    refused(() => parseFeedback({ predictionId: ID, entityId: 'a', label: 1 }, undefined), 400, /either/);
    refused(() => parseFeedback({ entityId: 'a', row: 1, label: 1 }, undefined), 400, /row goes with predictionId/);
    refused(() => parseFeedback({ entityId: 'a', label: Number.NaN }, undefined), 400, /label/);
    refused(() => parseFeedback({ entityId: 'a', label: [1] }, undefined), 400, /label/);
    refused(() => parseFeedback({ labels: [] }, undefined), 400, /labels/);
    refused(() => parseFeedback('entityId,label\na,1\nb', 'text/csv'), 400, /line 3: 1 fields for 2 columns/);
    refused(() => parseFeedback('entityId,label,secret\na,1,2', 'text/csv'), 400, /header/);
    refused(() => parseFeedback('label,label\n1,2', 'text/csv'), 400, /twice/);
    refused(() => parseFeedback('entityId,label\n"a,1', 'text/csv'), 400, /quoted/);
    refused(
      () => parseFeedback('{"entityId":"a","label":1}\n[', 'application/x-ndjson'),
      400,
      /line 2: not valid JSON/,
    );
    refused(() => parseFeedback('x', 'application/xml'), 415, /application\/json/);
  });

  it('refuses more than 50,000 labels in one request', () => {
    const many = Array.from({ length: 50_001 }, (_, i) => ({ entityId: `e${i}`, label: 1 }));
    refused(() => parseFeedback({ labels: many }, undefined), 400, /At most 50000 labels/);
    refused(
      () => parseFeedback(['entityId,label', ...many.map((m) => `${m.entityId},1`)].join('\n'), 'text/csv'),
      400,
      /At most/,
    );
  });
});

describe('csvRows', () => {
  it('keeps quoted commas, doubled quotes and line breaks inside quotes', () => {
    assert.deepEqual(csvRows('a,"b,""c""\nd"\n1,2'), [
      ['a', 'b,"c"\nd'],
      ['1', '2'],
    ]);
  });
});
