import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, uniqueId } from '@modelyard/testing';

const env = e2eEnv();
const MAX_BODY = Number(process.env.MAX_BODY_BYTES ?? 1024 * 1024);
const MAX_UPLOAD = Number(process.env.E2E_MAX_UPLOAD_BYTES ?? 2 * 1024 * 1024);
const TRIES = 10;

/**
 * Fastify answers a Content-Length over the limit at once, without reading the body, and an upload over the limit
 * fails in the middle. Clients that send the whole body before they read (fetch here; httpx, requests, curl) must
 * still get the 413, not EPIPE or a reset: the api reads out the rest of the body (common/lingering-close.ts).
 */
describe('an answer before the body is read', () => {
  it(`answers 413 to a JSON body over MAX_BODY_BYTES sent in full, ${TRIES} times out of ${TRIES}, then serves the next request`, async () => {
    const body = JSON.stringify({ payload: [{ x: 'a'.repeat(MAX_BODY * 3) }] });
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < TRIES; i++) {
      const r = await fetch(`${env.apiUrl}/v1/models/no-such-model/predict?t=${i}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' },
        body,
      }).then(
        async (res) => `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`,
        (e: Error & { cause?: { code?: string } }) => `failed: ${e.cause?.code ?? e.message}`,
      );
      outcomes.push(r);
    }
    assert.deepEqual(outcomes, Array(TRIES).fill('413 PAYLOAD_TOO_LARGE'));
    const next = await fetch(`${env.apiUrl}/healthz`);
    assert.equal(next.status, 200);
  });

  it(`answers 413 to a model upload over MAX_UPLOAD_BYTES sent in full, ${TRIES} times out of ${TRIES}`, async () => {
    const outcomes: (number | string)[] = [];
    const file = new Blob([Buffer.alloc(MAX_UPLOAD + 512 * 1024, 1)]);
    for (let i = 0; i < TRIES; i++) {
      const form = new FormData();
      form.append('spec', JSON.stringify({ description: 'too big' }));
      form.append('file', file, 'model.onnx');
      const r = await fetch(`${env.apiUrl}/v1/models/${uniqueId('early-413')}/versions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.adminApiKey}` },
        body: form,
      }).then(
        async (res) => `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`,
        (e: Error & { cause?: { code?: string } }) => `failed: ${e.cause?.code ?? e.message}`,
      );
      outcomes.push(r);
    }
    assert.deepEqual(outcomes, Array(TRIES).fill('413 PAYLOAD_TOO_LARGE'));
  });
});
