import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { metricsText, metricSum, ownApi, statusLine } from '../support/load.js';
import { flood, rawRequest } from '../support/pipelined-http.js';
import type { AppProcess } from '../support/processes.js';

const env = e2eEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (n: number, alphabet = ALNUM) =>
  Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');

/**
 * Postgres's own count of scans of the ApiKey table (sequential and by index): every key lookup or prefix read
 * is one. Backends report their counts up to ~10 s late when idle, so readings wait for that.
 */
async function apiKeyScans(db: pg.Client): Promise<number> {
  const r = await db.query(
    `SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS n FROM pg_stat_user_tables WHERE relname = 'ApiKey'`,
  );
  return Number(r.rows[0].n);
}
const STATS_LAG_MS = 11_500;

/**
 * Random bearer tokens used to cost one Postgres query each, and every 10,000 of them wiped the whole key
 * cache. A flood of made-up tokens (malformed, well-formed with unknown prefixes, and forged secrets behind a
 * real key's prefix) against the api's own process: Postgres sees about no queries per refused request, and a
 * good key keeps being answered from the cache throughout.
 */
describe('floods: random API keys', () => {
  let api: { url: string; proc: AppProcess };
  let model: string;
  let goodKey: string;
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });

  before(async () => {
    await db.connect();
    ({ model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg'));
    api = await ownApi('floods-keys', {});
    const admin = { token: env.adminApiKey };
    const account = { name: uniqueId('floods-keys'), role: 'viewer' };
    const sa = await http(api.url, 'POST', '/v1/service-accounts', { ...admin, body: account });
    const body = { name: 'good', scopes: ['predict'], serviceAccountId: sa.json.id };
    const k = await http(api.url, 'POST', '/v1/api-keys', { ...admin, body });
    assert.equal(k.status, 201, k.text);
    goodKey = k.json.secret;
  });
  after(async () => {
    await api?.proc.kill();
    await db.end();
  });

  it('costs about no Postgres queries per refused request, and serves a good key from its cache', async (t) => {
    const body = JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 1) });
    const port = Number(new URL(api.url).port);
    const predict = (key: string) =>
      rawRequest(
        'POST',
        `/v1/models/${model}/predict`,
        { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      );
    const warm = await flood(port, () => predict(goodKey), { connections: 1, depth: 1, ms: 10_000, max: 1 });
    assert.deepEqual([...warm.statuses.keys()], [200]); // the good key is cached from here on
    const prefix = goodKey.split('_')[1]!;
    // Forged secrets behind the good key's (real) prefix: each may be looked up once per API_KEY_CACHE_SECONDS.
    const forged = Array.from({ length: 20 }, () => `my_${prefix}_${randomText(40)}`);
    const token = (i: number) => {
      switch (i % 4) {
        case 0:
          return randomText(16 + (i % 480), `${ALNUM}-._~`); // no key's shape, or a foreign one of no prefix
        case 1:
          return `my_${randomText(8, LOWER)}_${randomText(40)}`; // a key's shape, no such prefix
        case 2:
          return forged[(i >> 2) % forged.length]!;
        default:
          return `my_${randomText(30)}`;
      }
    };
    await sleep(STATS_LAG_MS);
    const scansBefore = await apiKeyScans(db);
    const lookups = async () =>
      metricSum(await metricsText(api.url, env.adminApiKey), 'modelyard_api_key_lookups_total');
    const lookupsBefore = await lookups();

    const started = Date.now();
    const [bad, ok] = await Promise.all([
      flood(
        port,
        (i) =>
          i % 5 === 4
            ? rawRequest('GET', '/v1/me', { authorization: `Bearer ${token(i)}` }) // the framework's guard
            : predict(token(i)),
        { connections: 8, depth: 8, ms: 10_000, max: 500_000 },
      ),
      flood(port, () => predict(goodKey), { connections: 1, depth: 1, ms: 10_000, max: 100_000 }),
    ]);
    const seconds = (Date.now() - started) / 1000;

    const looked = (await lookups()) - lookupsBefore;
    await sleep(STATS_LAG_MS);
    const scans = (await apiKeyScans(db)) - scansBefore;
    const refused = bad.statuses.get(401) ?? 0;
    t.diagnostic(
      `random-key flood: ${bad.n} requests in ${seconds.toFixed(1)} s (${statusLine(bad.statuses)}); ` +
        `Postgres scans of ApiKey ${scans} = ${(scans / refused).toFixed(4)} per refused request; ` +
        `key lookups ${looked} ` +
        `(${forged.length} forged secrets of a real prefix); good key: ${ok.n} requests, ${statusLine(ok.statuses)}`,
    );
    assert.equal(refused, bad.n, statusLine(bad.statuses));
    assert.ok(refused > 400, `only ${refused} requests in the flood`);
    assert.deepEqual([...ok.statuses.keys()], [200]);
    assert.ok(ok.n > 20, `good key: ${ok.n} requests`);
    // One lookup per forged secret, none for the good key (still cached, never wiped) or for any other token.
    assert.equal(looked, forged.length);
    // Postgres's own count: those lookups, the prefix re-reads (at most one a second of flood) and a few of the
    // platform's own (last-used times, the shared processes): bounded, whatever the number of tokens.
    assert.ok(scans <= forged.length + Math.ceil(seconds) + 10, `${scans} scans of ApiKey, ${refused} refused`);
  });

  it('answers a bad key on a predict route before reading the body', async () => {
    // Headers announcing a 1 MB body that never comes: the answer cannot wait for it.
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(new URL(api.url).port), '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => {
        s.destroy();
        resolve(got);
      }, 3000);
      s.on('data', (b) => {
        got += b.toString();
        if (!got.includes('\r\n\r\n')) return;
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      });
      s.on('error', reject);
      s.write(
        `POST /v1/models/${model}/predict HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
          `authorization: Bearer my_${randomText(8, LOWER)}_${randomText(40)}\r\n` +
          'content-type: application/json\r\ncontent-length: 1000000\r\n\r\n{"payload": [',
      );
    });
    assert.match(answer, /^HTTP\/1\.1 401 /, `answer before the body: ${JSON.stringify(answer.slice(0, 200))}`);
  });
});
