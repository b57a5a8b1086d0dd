/**
 * The Performance page's confusion matrix and calibration (apps/web/app/(app)/models/[name]/performance), in a
 * real browser, against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness).
 *
 * One story: an iris logistic regression answers 16 predictions with entity ids; labels arrive for all of them,
 * every fourth one disagreeing with the dataset; the page then shows a confusion matrix and a calibration table
 * whose every number equals the one computed here from what the callers saw.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { http } from '@modelyard/testing';
import {
  assertVisible,
  openDashboardPage,
  requiredEnv,
  screenshotDir,
  storyEnv,
  storySteps,
} from '../support/browser.js';
import { reference, registerFixture } from '../support/fixtures.js';

const { webUrl, apiUrl, adminKey } = storyEnv();
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD') };
const ref = reference('iris_logreg') as { feature_names: string[]; rows: number[][]; target: number[] };
const N = 16;
const record = (i: number) => Object.fromEntries(ref.feature_names.map((f, c) => [f, ref.rows[i]![c]!]));
const truthOf = (i: number) => (i % 4 === 3 ? (ref.target[i]! + 1) % 3 : ref.target[i]!);

describe('confusion matrix and calibration on the Performance page', { timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let model = '';
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'performance-', consoleErrors });
  const seen: { predicted: number; top: number; truth: number }[] = [];

  before(async () => {
    ({ browser, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
    ({ model } = await registerFixture(apiUrl, adminKey, 'iris_logreg'));
    for (let i = 0; i < N; i++) {
      const r = await http(apiUrl, 'POST', `/v1/models/${model}/predict`, {
        token: adminKey,
        body: { payload: [record(i)] },
        headers: { 'x-entity-id': `${model}-e${i}` },
      });
      assert.equal(r.status, 200, r.text);
      seen.push({ predicted: r.json.predictions[0], top: Math.max(...r.json.predictions_prob[0]), truth: truthOf(i) });
    }
    const labels = seen.map((s, i) => ({ entityId: `${model}-e${i}`, label: s.truth }));
    const fb = await http(apiUrl, 'POST', `/v1/models/${model}/feedback`, { token: adminKey, body: { labels } });
    assert.equal(fb.status, 200, fb.text);
    // The prediction log reaches Postgres every few seconds (predictions.ingest): wait until every row is joined.
    const until = Date.now() + 40_000;
    for (;;) {
      const rep = await http(apiUrl, 'GET', `/v1/models/${model}/performance`, { token: adminKey });
      if (rep.json.byVersion?.[0]?.labelled === N) break;
      assert.ok(Date.now() < until, `labels not joined yet: ${rep.text}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  after(async () => {
    await browser?.close();
  });

  step('signs in and opens the model’s Performance page', async () => {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await page.goto(`/models/${model}/performance`);
    await assertVisible(page.getByRole('heading', { name: 'Confusion matrix and calibration' }), 'the section');
  });

  step('the confusion matrix counts each (label, prediction) pair the callers saw', async () => {
    const table = page.getByRole('table', { name: 'Confusion matrix v1 production' });
    await assertVisible(table, 'the confusion matrix');
    for (const actual of [0, 1, 2])
      for (const predicted of [0, 1, 2]) {
        const want = seen.filter((s) => s.truth === actual && s.predicted === predicted).length;
        const cell = table.locator(`tr[data-label="${actual}"] td[data-predicted="${predicted}"]`);
        assert.equal(Number(await cell.textContent()), want, `label ${actual}, predicted ${predicted}`);
      }
    const shown = await table.locator('tbody td').evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
    assert.equal(
      shown.reduce((a, b) => a + b, 0),
      N,
    );
  });

  step(
    'the calibration table bins the predictions by their top probability, with the share right in each',
    async () => {
      const table = page.getByRole('table', { name: 'Calibration v1 production' });
      await assertVisible(table, 'the calibration table');
      const bins = new Map<number, typeof seen>();
      for (const s of seen) {
        const b = Math.min(9, Math.floor(s.top * 10));
        bins.set(b, [...(bins.get(b) ?? []), s]);
      }
      const rows = await table
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [tr.getAttribute('data-bin'), ...[...tr.querySelectorAll('td')].map((td) => td.textContent)]),
        );
      assert.equal(rows.length, bins.size);
      let ece = 0;
      for (const [b, in_] of [...bins.entries()].sort((x, y) => x[0] - y[0])) {
        const row = rows.find((r) => r[0] === (b / 10).toFixed(1));
        assert.ok(row, `bin ${b / 10}`);
        const confidence = in_.reduce((a, s) => a + s.top, 0) / in_.length;
        const accuracy = in_.filter((s) => s.predicted === s.truth).length / in_.length;
        assert.equal(Number(row[1]), in_.length, `bin ${b / 10} count`);
        assert.equal(row[2], `${(confidence * 100).toFixed(1)}%`, `bin ${b / 10} mean probability`);
        assert.equal(row[3], `${(accuracy * 100).toFixed(1)}%`, `bin ${b / 10} right`);
        ece += (in_.length / N) * Math.abs(accuracy - confidence);
      }
      const caption = await page.getByTestId('ece v1 production').textContent();
      assert.match(caption ?? '', new RegExp(`expected\\s+calibration error ${ece.toFixed(3)}`));
      await page.screenshot({ path: path.join(screenshotDir(), 'performance-quality.png'), fullPage: true });
      assert.deepEqual(pageErrors, []);
    },
  );
});
