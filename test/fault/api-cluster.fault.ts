import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { e2eEnv, http as call } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import { postJson } from '../support/keepalive-load.js';

const env = e2eEnv();
const token = env.adminApiKey;

/** The pids whose parent is `pid` (from /proc: no procps needed). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * API_PROCESSES=2: two api processes on one port under node:cluster. SIGKILL of one under c=32 load costs only
 * the requests that were on it, the primary starts another within seconds, and a scrape of /metrics on either
 * process counts every process's requests.
 */
describe('an api cluster (API_PROCESSES=2)', () => {
  let primary: AppProcess;
  let base = '';
  let model = '';
  let body = '';

  before(async () => {
    model = (await registerFixture(env.apiUrl, token, 'iris_logreg')).model;
    body = JSON.stringify({ payload: [records(samples('iris_logreg'))[0]] });
    const port = await freePort();
    // The load is not about rate limits (the default 1,000 req/s would answer some with 429 on a quiet box).
    primary = startApp('api-cluster', 'api', {
      API_PORT: String(port),
      API_PROCESSES: '2',
      RATE_LIMIT_RPS: '100000',
      RATE_LIMIT_BURST: '100000',
    });
    base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/readyz`, primary);
    await until('two api processes', () => childPids(primary.child.pid!).length === 2);
  });
  after(async () => {
    await primary.kill('SIGTERM');
  });

  it('answers a scrape of /metrics with the requests of both processes, summed', async () => {
    const fresh = new http.Agent({ keepAlive: false });
    const url = new URL(`/v1/models/${model}/predict`, base);
    const statuses = [];
    // A new connection each: the primary hands connections to its processes in turn.
    for (let i = 0; i < 200; i++) statuses.push((await postJson(url, fresh, token, body)).status);
    assert.deepEqual([...new Set(statuses)], [200]);
    const counted = async () => {
      const text = (await call(base, 'GET', '/metrics', { token })).text;
      const m = [
        ...text.matchAll(
          new RegExp(`^modelyard_request_duration_seconds_count\\{[^}]*model="${model}"[^}]*\\} (\\d+)`, 'gm'),
        ),
      ];
      return m.reduce((a, x) => a + Number(x[1]), 0);
    };
    for (let i = 0; i < 5; i++) assert.equal(await counted(), 200, `scrape ${i}`);
  });

  it('loses only the requests in flight on a SIGKILLed process, and the primary starts another', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const url = new URL(`/v1/models/${model}/predict`, base);
    const results = new Map<number | string, number>();
    const stopAt = Date.now() + 8_000;
    let sent = 0;
    const worker = async () => {
      while (Date.now() < stopAt) {
        const r = (await postJson(url, agent, token, body)).status;
        sent++;
        results.set(r, (results.get(r) ?? 0) + 1);
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, worker));
    await new Promise((r) => setTimeout(r, 3_000));
    const [victim, survivor] = childPids(primary.child.pid!);
    process.kill(victim!, 'SIGKILL');
    const killedAt = Date.now();
    await until(
      'a new api process',
      () => {
        const now = childPids(primary.child.pid!);
        return now.length === 2 && now.includes(survivor!) && !now.includes(victim!);
      },
      15_000,
    );
    const backInMs = Date.now() - killedAt;
    await load;
    agent.destroy();
    const failed = sent - (results.get(200) ?? 0);
    console.log(
      `cluster kill: ${sent} requests at c=32, ${failed} failed (${JSON.stringify(Object.fromEntries(results))}), new process in ${backInMs} ms`,
    );
    assert.ok(failed <= 32, `${failed} failed requests: more than the 32 that can be in flight`);
    assert.ok(backInMs < 10_000, `the primary took ${backInMs} ms to start another process`);
    const after = (await postJson(url, new http.Agent({ keepAlive: false }), token, body)).status;
    assert.equal(after, 200);
  });
});
