import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { http as call, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, records, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import { postJson } from '../support/keepalive-load.js';

interface Pg {
  url: string;
  stop(): Promise<void>;
}
type StartPostgres = (o: { dir: string; port: number }) => Promise<Pg>;
const { startPostgres } = (await import(pathToFileURL(path.resolve('scripts/services.mjs')).href)) as {
  startPostgres: StartPostgres;
};
const { applyMigrations } = (await import(pathToFileURL(path.resolve('scripts/migrations.mjs')).href)) as {
  applyMigrations: (url: string) => Promise<string[]>;
};

/**
 * Postgres stopped for 10 s under c=8 load on a warm model: predictions keep answering from the cached key and
 * the loaded version, management routes answer 503 with Retry-After meanwhile and work again once it is back.
 * This test runs a Postgres of its own (the platform's is everybody's), migrated and seeded like `npm start`'s.
 */
describe('a Postgres outage under load', () => {
  const procs: AppProcess[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-pg-outage-'));
  const token = `pg-outage-admin-${'p'.repeat(32)}`;
  let pgPort = 0;
  let pg: Pg;
  let api = '';
  let model = '';

  before(async () => {
    pgPort = await freePort();
    pg = await startPostgres({ dir, port: pgPort });
    await applyMigrations(pg.url);
    const seeded = spawnSync(process.execPath, ['apps/api/dist/seed.js'], {
      env: { ...process.env, DATABASE_URL: pg.url, MODELYARD_ADMIN_API_KEY: token },
      encoding: 'utf8',
    });
    assert.equal(seeded.status, 0, seeded.stderr);
    // The load is not about rate limits (the default 1,000 req/s would answer some with 429).
    const own = {
      DATABASE_URL: pg.url,
      REDIS_PREFIX: uniqueId('pg-outage'),
      RATE_LIMIT_RPS: '100000',
      RATE_LIMIT_BURST: '100000',
    };
    const port = await freePort();
    const a = startApp('api-pg-outage', 'api', { ...own, API_PORT: String(port) });
    procs.push(a, startApp('worker-pg-outage', 'worker', own));
    api = `http://127.0.0.1:${port}`;
    await waitReady(`${api}/readyz`, a);
    model = uniqueId('pg-outage');
    const form = new FormData();
    form.append('spec', JSON.stringify({ sampleInput: records(samples('iris_logreg')).slice(0, 2) }));
    form.append('file', new Blob([readFileSync(path.join(FIXTURES_DIR, 'iris_logreg', 'model.onnx'))]), 'model.onnx');
    const res = await fetch(`${api}/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    assert.equal(res.status, 202, await res.text());
    for (let i = 0; i < 200; i++) {
      if ((await call(api, 'GET', `/v1/models/${model}/versions/1`, { token })).json.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const p = await call(api, 'POST', `/v1/models/${model}/versions/1/stage`, { token, body: { stage: 'Production' } });
    assert.equal(p.status, 200, p.text);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await pg.stop().catch(() => undefined);
  });

  it('answers warm predictions throughout, management routes 503 while it is down, and recovers', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const url = new URL(`/v1/models/${model}/predict`, api);
    const body = JSON.stringify({ payload: [records(samples('iris_logreg'))[0]] });
    const results: { status: number | string; ms: number; phase: string }[] = [];
    let phase = 'before';
    const stopAt = Date.now() + 16_000;
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < stopAt) results.push({ ...(await postJson(url, agent, token, body)), phase });
      }),
    );

    await new Promise((r) => setTimeout(r, 2_000));
    await pg.stop();
    phase = 'down';
    await new Promise((r) => setTimeout(r, 1_500));
    const mgmt = await call(api, 'GET', '/v1/models', { token });
    assert.equal(mgmt.status, 503, `a management route while Postgres is down: ${mgmt.status} ${mgmt.text}`);
    assert.equal(mgmt.json.error.code, 'NOT_READY');
    assert.equal(mgmt.headers.get('retry-after'), '5');
    const ready = await call(api, 'GET', '/readyz');
    assert.equal(ready.status, 200, 'serving readiness does not depend on Postgres');
    assert.equal(ready.json.checks.database.ok, false);
    await new Promise((r) => setTimeout(r, 8_500));
    pg = await startPostgres({ dir, port: pgPort });
    phase = 'after';
    await load;
    agent.destroy();

    const down = results.filter((r) => r.phase === 'down');
    const failed = results.filter((r) => r.status !== 200);
    console.log(`postgres outage: ${results.length} predictions (${down.length} while down), ${failed.length} not 200`);
    assert.ok(down.length > 20, `only ${down.length} predictions while Postgres was down`);
    assert.deepEqual(failed.slice(0, 5), [], 'every warm prediction answered 200');

    let back = await call(api, 'GET', '/v1/models', { token });
    for (let i = 0; i < 100 && back.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      back = await call(api, 'GET', '/v1/models', { token });
    }
    assert.equal(back.status, 200, `management routes after Postgres is back: ${back.text}`);
  });
});
