import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const admin = { token: env.adminApiKey };
const QUOTA_RPS = 5;
const LOAD_MS = 2_500;
/** Per caller loop: bounded in count as well as time. */
const MAX_REQUESTS = 300;

/** A service account of the project with one key of these scopes; the key's bare URLs act in the project. */
async function projectKey(project: string, role: string, scopes: string[]) {
  const name = uniqueId(role);
  const sa = await http(env.apiUrl, 'POST', `/v1/projects/${project}/service-accounts`, {
    ...admin,
    body: { name, role },
  });
  assert.equal(sa.status, 201, sa.text);
  const key = await http(env.apiUrl, 'POST', `/v1/projects/${project}/api-keys`, {
    ...admin,
    body: { name, scopes, serviceAccountId: sa.json.id },
  });
  assert.equal(key.status, 201, key.text);
  return key.json.secret as string;
}

/** A project of its own (with these quotas), a model in Production there, and a predict key of the project. */
async function projectWithModel(quotas: Record<string, number>) {
  const project = uniqueId('quota-sec').toLowerCase();
  const p = await http(env.apiUrl, 'POST', '/v1/projects', { ...admin, body: { name: project, quotas } });
  assert.equal(p.status, 201, p.text);
  const deployer = await projectKey(project, 'admin', ['models:read', 'models:write', 'models:promote']);
  const { model } = await registerFixture(env.apiUrl, deployer, 'iris_logreg');
  return { project, model, key: await projectKey(project, 'viewer', ['predict']) };
}

/**
 * A project's requests/s quota (maxRequestsPerSecond) holds on the fast lane, the predict router every request
 * format goes through, across its keys: a project flooding past it gets 429s naming the quota, while another
 * project's key on the same api keeps being served. Load is bounded (time and count) and stays on 127.0.0.1.
 */
describe('quotas: a project at its requests/s quota', () => {
  let limited: Awaited<ReturnType<typeof projectWithModel>>;
  let other: Awaited<ReturnType<typeof projectWithModel>>;

  before(async () => {
    limited = await projectWithModel({ maxRequestsPerSecond: QUOTA_RPS });
    other = await projectWithModel({});
  });

  it("gets 429 with Retry-After naming maxRequestsPerSecond on the fast lane; another project's key is served", async (t) => {
    const rows = records(samples('iris_logreg')).slice(0, 1);
    const tensor = { name: 'float_input', shape: [1, 4], datatype: 'FP32', data: Object.values(rows[0]!) };
    const seen = { limited: new Map<number, number>(), other: new Map<number, number>() };
    const refusals: { status: number; retryAfter: string | null; message: string }[] = [];
    const deadline = Date.now() + LOAD_MS;
    const started = Date.now();
    const loop = async (who: 'limited' | 'other', v2: boolean) => {
      const { model, key } = who === 'limited' ? limited : other;
      for (let i = 0; i < MAX_REQUESTS && Date.now() < deadline; i++) {
        // Two request formats, one quota: the project's, whichever route a request takes.
        const r = v2
          ? await http(env.apiUrl, 'POST', `/v2/models/${model}/infer`, { token: key, body: { inputs: [tensor] } })
          : await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, { token: key, body: { payload: rows } });
        seen[who].set(r.status, (seen[who].get(r.status) ?? 0) + 1);
        if (who === 'limited' && r.status === 429)
          refusals.push({
            status: r.status,
            retryAfter: r.headers.get('retry-after'),
            message: String(r.json?.error?.message ?? r.text),
          });
      }
    };
    await Promise.all([loop('limited', false), loop('limited', true), loop('other', false), loop('other', true)]);
    const seconds = (Date.now() - started) / 1000;

    const served = seen.limited.get(200) ?? 0;
    t.diagnostic(
      `in ${seconds.toFixed(1)} s: limited project ${served} served, ${seen.limited.get(429) ?? 0} refused; ` +
        `other project ${seen.other.get(200) ?? 0} served`,
    );
    assert.deepEqual([...seen.limited.keys()].sort(), [200, 429], JSON.stringify([...seen.limited]));
    // A burst of one second's worth, the refill over the run, and a lease of slack per api process.
    assert.ok(served <= QUOTA_RPS * (1 + seconds) + 2, `${served} served in ${seconds.toFixed(1)} s`);
    for (const r of refusals) {
      assert.ok(Number(r.retryAfter) >= 1, `Retry-After: ${r.retryAfter}`);
      assert.match(r.message, new RegExp(`quota of ${QUOTA_RPS} requests/s \\(maxRequestsPerSecond\\)`));
    }
    assert.deepEqual([...seen.other.keys()], [200], JSON.stringify([...seen.other]));
    assert.ok((seen.other.get(200) ?? 0) > served, "the other project's key was served throughout, far past it");
  });
});
