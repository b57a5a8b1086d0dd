import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { metricsText, ownApi, statusLine } from '../support/load.js';
import { flood, rawRequest } from '../support/pipelined-http.js';
import type { AppProcess } from '../support/processes.js';

const env = e2eEnv();
const REQUEST_SERIES = 'modelyard_request_duration_seconds_count{';
const seriesOf = (text: string, prefix = REQUEST_SERIES) => text.split('\n').filter((l) => l.startsWith(prefix));

/**
 * Metric series used to be made from the model name in the URL, 404s included, and never freed: any caller
 * with the predict scope could grow /metrics (and the scraper's storage) without bound. Against the api's own
 * process, so the shared one's /metrics is not disturbed.
 */
describe('floods: metric series', () => {
  let api: { url: string; proc: AppProcess };
  before(async () => {
    api = await ownApi('floods-metrics', {});
  });
  after(async () => {
    await api?.proc.kill();
  });

  it('stays bounded after 10,000 requests to unknown model names', async (t) => {
    const body = JSON.stringify({ payload: [{ x: 1 }] });
    const before = seriesOf(await metricsText(api.url, env.adminApiKey)).length;
    const headers = { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' };
    // A quarter with a query string, which the route label must not carry either.
    const path = (i: number) => `/v1/models/${uniqueId('nobody')}/predict${i % 4 === 3 ? `?q=${i}` : ''}`;
    const r = await flood(Number(new URL(api.url).port), (i) => rawRequest('POST', path(i), headers, body), {
      connections: 8,
      depth: 8,
      ms: 120_000,
      max: 10_000,
    });
    const text = await metricsText(api.url, env.adminApiKey);
    const series = seriesOf(text);
    t.diagnostic(
      `${r.n} requests to unknown model names (${statusLine(r.statuses)}): request series ${before} before, ` +
        `${series.length} after; /metrics is ${text.length} bytes, ${text.split('\n').length} lines`,
    );
    assert.equal(r.n, 10_000);
    assert.deepEqual([...r.statuses.keys()], [404]);
    // One series (the route label is the route's template), under one fixed model label.
    assert.ok(series.length - before <= 2, series.join('\n'));
    assert.ok(
      series.some((l) => l.includes('model="(unknown)"') && l.includes('status="404"')),
      series.join('\n'),
    );
    assert.ok(!text.includes('model="nobody'), 'no series is named after a name from a URL');
  });

  it('drops the series of a deleted model', async (t) => {
    const { model, version } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg', { promote: false });
    const row = { payload: records(samples('iris_logreg')).slice(0, 1) };
    const admin = { token: env.adminApiKey };
    const p = await http(api.url, 'POST', `/v1/models/${model}/versions/${version}/predict`, { ...admin, body: row });
    assert.equal(p.status, 200, p.text);
    const naming = async () =>
      (await metricsText(api.url, env.adminApiKey)).split('\n').filter((l) => l.includes(`model="${model}"`));
    const withModel = await naming();
    assert.ok(
      withModel.some((l) => l.startsWith(REQUEST_SERIES)),
      withModel.join('\n'),
    );
    assert.ok(
      withModel.some((l) => l.startsWith('modelyard_inference_duration_seconds_count{')),
      withModel.join('\n'),
    );
    // Through this process (its Redis prefix is its own, so it hears only its own registry changes).
    const del = await http(api.url, 'DELETE', `/v1/models/${model}`, { token: env.adminApiKey });
    assert.ok(del.status < 300, del.text);
    let left: string[] = withModel;
    for (let i = 0; i < 50 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await naming();
    }
    t.diagnostic(`series naming the model: ${withModel.length} before its deletion, ${left.length} after`);
    assert.deepEqual(left, []);
  });
});
