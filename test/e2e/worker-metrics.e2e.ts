import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const metricsUrl = process.env.E2E_WORKER_METRICS_URL!;

/** The sum of a metric's samples whose labels include every given label. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    if (Object.entries(labels).every(([k, v]) => m[1]!.includes(`${k}="${v}"`))) total += Number(m[2]);
  }
  return total;
}

const scrape = async () => {
  const r = await http(metricsUrl, 'GET', '/metrics', { token: env.adminApiKey });
  assert.equal(r.status, 200, r.text);
  return r.text;
};

describe("the worker's metrics", () => {
  it('refuses a scrape without a key (401) and with a key lacking models:read (403)', async () => {
    const anon = await http(metricsUrl, 'GET', '/metrics');
    assert.equal(anon.status, 401);
    assert.equal(anon.json.error.code, 'UNAUTHENTICATED');
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('wm'), role: 'viewer' },
    });
    const key = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: { name: 'k', scopes: ['predict'], serviceAccountId: sa.json.id },
    });
    const r = await http(metricsUrl, 'GET', '/metrics', { token: key.json.secret });
    assert.equal(r.status, 403);
    assert.equal((await http(metricsUrl, 'GET', '/healthz')).status, 200);
  });

  it('counts the jobs a batch job ran by queue, with durations, and shows every queue by state', async () => {
    const before = await scrape();
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const features = samples('iris_logreg').feature_names;
    const rows = records(samples('iris_logreg'));
    const form = new FormData();
    form.append('spec', JSON.stringify({ model }));
    form.append(
      'file',
      new Blob([`${features.join(',')}\n${rows.map((r) => features.map((f) => r[f]).join(',')).join('\n')}\n`]),
      'in.csv',
    );
    const res = await fetch(`${env.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.adminApiKey}` },
      body: form,
    });
    const job = (await res.json()) as { id: string };
    assert.equal(res.status, 202);
    for (let i = 0; i < 300; i++) {
      const j = (await http(env.apiUrl, 'GET', `/v1/jobs/${job.id}`, { token: env.adminApiKey })).json;
      if (j.status === 'succeeded') break;
      assert.ok(['queued', 'running'].includes(j.status), j.error);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await scrape();
    // A file one worker holds whole is scored by its batch.score job, which writes the output once: no chunk jobs
    // and no batch.assemble (jobs/batch-inline.ts).
    for (const name of ['batch.score', 'registry.validate']) {
      const was = sample(before, 'modelyard_worker_jobs_total', { job: name, outcome: 'completed' });
      assert.ok(
        sample(after, 'modelyard_worker_jobs_total', { job: name, outcome: 'completed' }) > was,
        `${name} completed count moved`,
      );
      assert.ok(
        sample(after, 'modelyard_worker_job_duration_seconds_count', { job: name }) > 0,
        `${name} duration observed`,
      );
    }
    for (const queue of ['batch', 'registry', 'webhooks', 'maintenance']) {
      assert.match(after, new RegExp(`^modelyard_queue_jobs\\{queue="${queue}",state="wait"\\} \\d+$`, 'm'));
    }
    assert.match(after, /^process_cpu_user_seconds_total \d/m, 'standard process metric names');
    assert.match(after, /^modelyard_info\{component="worker"\} 1$/m);
    assert.ok(
      sample(after, 'modelyard_worker_jobs_total', { queue: 'batch', job: 'batch.score', outcome: 'completed' }) > 0,
    );
    // Series start at 0: a job that never failed still has its failed series, so rate() sees the first failure.
    assert.match(
      after,
      /^modelyard_worker_jobs_total\{queue="maintenance",job="registry.sweep",outcome="failed"\} \d+$/m,
    );
    assert.match(after, /^modelyard_worker_stalled_jobs_total\{queue="batch"\} \d+$/m);
  });

  it('shows the outbox: events waiting, the age of the oldest, and what this worker delivered', async () => {
    const text = await scrape();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('modelyard_outbox_pending_events') >= 0, 'pending events');
    assert.ok(value('modelyard_outbox_lag_seconds') >= 0, 'lag in seconds');
    // Every change the tests made was delivered within seconds: the backlog does not grow.
    assert.ok(value('modelyard_outbox_lag_seconds') < 60, `outbox lag ${value('modelyard_outbox_lag_seconds')} s`);
    assert.ok(value('modelyard_outbox_dispatched_total') >= 0 && value('modelyard_outbox_failed_total') >= 0);
  });
});
