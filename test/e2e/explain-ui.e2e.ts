/**
 * "Explain a prediction" on the model page (apps/web/app/(app)/models/[name]/explain-panel.tsx), in a real browser,
 * against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness).
 *
 * One story: an iris random forest registered with its reference rows; on its page the admin edits a feature of
 * the prefilled row and asks for an explanation; a bar per feature appears, for the predicted class, with the
 * values the API gives for the same row, and switching the output to another class redraws them.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { http } from '@modelyard/testing';
import {
  assertText,
  assertVisible,
  openDashboardPage,
  requiredEnv,
  screenshotDir,
  storyEnv,
  storySteps,
} from '../support/browser.js';
import { registerFixture } from '../support/fixtures.js';

const { webUrl, apiUrl, adminKey } = storyEnv();
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD') };
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

describe('explaining a prediction on the model page', { timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let model = '';
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'explain-', consoleErrors });
  const row = { sepal_length: 6.3, sepal_width: 2.8, petal_length: 5.1, petal_width: 1.5 };

  /** The bars' values as the chart prints them, by feature. */
  const shown = async () =>
    Object.fromEntries(
      await page
        .locator('.explain-bars:not(.importance-bars) tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [tr.getAttribute('data-feature') ?? '', Number(tr.querySelector('td.mono')?.textContent)]),
        ),
    ) as Record<string, number>;

  before(async () => {
    ({ browser, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
    ({ model } = await registerFixture(apiUrl, adminKey, 'iris_rf', { reference: true }));
  });

  after(async () => {
    await browser?.close();
  });

  step('signs in and opens the model page, whose explain form is prefilled with a sample row', async () => {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await page.goto(`/models/${model}`);
    const form = page.getByRole('form', { name: 'Explain a prediction' });
    await assertVisible(form, 'the explain form');
    for (const f of FEATURES) assert.notEqual(await form.getByLabel(f, { exact: true }).inputValue(), '');
  });

  step('explaining a row draws a bar per feature with the values the API answers for that row', async () => {
    const form = page.getByRole('form', { name: 'Explain a prediction' });
    for (const f of FEATURES) await form.getByLabel(f, { exact: true }).fill(String(row[f as keyof typeof row]));
    await form.getByRole('button', { name: 'Explain' }).click();
    await assertVisible(page.locator('.explain-bars'), 'the contribution bars');
    const api = await http(apiUrl, 'POST', `/v1/models/${model}/versions/1/explain`, {
      token: adminKey,
      body: { payload: [row] },
    });
    assert.equal(api.status, 200, api.text);
    const value: number[] = api.json.rows[0].value;
    const predicted = value.indexOf(Math.max(...value));
    const bars = await shown();
    assert.deepEqual(Object.keys(bars).sort(), [...FEATURES].sort());
    FEATURES.forEach((f, j) => {
      const want = api.json.rows[0].contributions[j][predicted];
      assert.ok(Math.abs(bars[f]! - want) <= Math.abs(want) * 1e-2 + 1e-3, `${f}: shown ${bars[f]}, api ${want}`);
    });
    await assertText(page.getByTestId('explain-summary'), /tree, exact, against 100 reference rows/, 'the summary');
    await page.screenshot({ path: path.join(screenshotDir(), 'explain-bars.png') });
  });

  step('choosing another class redraws the bars for it', async () => {
    const api = await http(apiUrl, 'POST', `/v1/models/${model}/versions/1/explain`, {
      token: adminKey,
      body: { payload: [row] },
    });
    await page.getByLabel('Output').selectOption({ index: 0 });
    const bars = await shown();
    FEATURES.forEach((f, j) => {
      const want = api.json.rows[0].contributions[j][0];
      assert.ok(Math.abs(bars[f]! - want) <= Math.abs(want) * 1e-2 + 1e-3, `${f}: shown ${bars[f]}, api ${want}`);
    });
    assert.deepEqual(pageErrors, []);
  });

  step('"Show global importance" draws the mean |contribution| per feature the importance API answers', async () => {
    await page.getByRole('button', { name: 'Show global importance' }).click();
    const chart = page.getByRole('figure', { name: 'Global importance' });
    await assertVisible(chart, 'the importance bars');
    const api = await http(apiUrl, 'GET', `/v1/models/${model}/versions/1/importance`, { token: adminKey });
    assert.equal(api.status, 200, api.text);
    const shownImportance = Object.fromEntries(
      await chart
        .locator('tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [tr.getAttribute('data-feature') ?? '', Number(tr.querySelector('td.mono')?.textContent)]),
        ),
    ) as Record<string, number>;
    FEATURES.forEach((f) => {
      const want = api.json.overall[api.json.features.indexOf(f)];
      assert.ok(
        Math.abs(shownImportance[f]! - want) <= want * 1e-2 + 1e-4,
        `${f}: shown ${shownImportance[f]}, api ${want}`,
      );
    });
    await assertText(page.getByTestId('importance-summary'), /over 50 reference rows \(tree, exact\)/, 'the summary');
    await page.screenshot({ path: path.join(screenshotDir(), 'explain-importance.png') });
    assert.deepEqual(pageErrors, []);
  });

  step('a batch job started from the dashboard with contribution columns writes them to its output', async () => {
    await page.goto('/jobs/new');
    const form = page.locator('form.job-form');
    await form.getByLabel('Model', { exact: true }).selectOption(model);
    const version = form.getByLabel('Version', { exact: true });
    const until = Date.now() + 15_000;
    while ((await version.locator('option', { hasText: 'Version 1' }).count()) !== 1) {
      assert.ok(Date.now() < until, 'version 1 among the choices');
      await new Promise((r) => setTimeout(r, 100));
    }
    await form.getByLabel('Upload a file').check();
    const csv = `${FEATURES.join(',')}\n${FEATURES.map((f) => row[f as keyof typeof row]).join(',')}\n`;
    await form
      .getByLabel(/^Input file/)
      .setInputFiles({ name: 'rows.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await form.getByLabel(/^Add contribution columns/).check();
    const answered = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url() === `${webUrl}/api/v1/jobs`,
    );
    await form.getByRole('button', { name: 'Start batch job' }).click();
    const res = await answered;
    assert.equal(res.status(), 202, await res.text());
    const id = ((await res.json()) as { id: string }).id;
    let job = (await http(apiUrl, 'GET', `/v1/jobs/${id}`, { token: adminKey })).json;
    for (let i = 0; i < 300 && ['queued', 'running'].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await http(apiUrl, 'GET', `/v1/jobs/${id}`, { token: adminKey })).json;
    }
    assert.equal(job.status, 'succeeded', job.error);
    const out = await fetch(`${apiUrl}/v1/jobs/${id}/files/output`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const [head, line] = (await out.text()).trimEnd().split('\n');
    const cells = Object.fromEntries(line!.split(',').map((v, i) => [head!.split(',')[i]!, Number(v)]));
    const api = await http(apiUrl, 'POST', `/v1/models/${model}/versions/1/explain`, {
      token: adminKey,
      body: { payload: [row] },
    });
    FEATURES.forEach((f, j) => {
      const want = api.json.rows[0].contributions[j][2];
      assert.ok(
        Math.abs(cells[`contribution_${f}_2`]! - want) < 1e-9,
        `${f}: ${cells[`contribution_${f}_2`]} vs ${want}`,
      );
    });
  });
});
