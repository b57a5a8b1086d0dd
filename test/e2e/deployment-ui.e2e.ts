/**
 * A model's deployment page in the dashboard, in a real browser, against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness, which
 * also sets ROLLUP_FLUSH_SECONDS=2 so comparison figures arrive within seconds); E2E_SCREENSHOT_DIR (optional).
 *
 * One story: an approver pins production, adds a pilot for a group (with a time window) and a silent version,
 * sends traffic through the API until the comparison panel shows figures, and rolls back to the first revision
 * with the keyboard; then a scientist finds the production control disabled and the API refusing it too.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { http, uniqueId } from '@modelyard/testing';
import {
  assertText,
  assertVisible,
  openDashboardPage,
  screenshotDir,
  storySteps,
  person,
  storyEnv,
} from '../support/browser.js';
import { records, registerFixture, samples } from '../support/fixtures.js';

const { webUrl, apiUrl, adminKey, adminApi } = storyEnv();

const admin = adminApi;
const approver = person('approver');
const scientist = person('scientist');
const groupName = uniqueId('pilot-ui');

/** `YYYY-MM-DDTHH:MM` in UTC, what a datetime-local input takes (the page reads it as UTC). */
const utcMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const shown = (ms: number) => `${utcMinute(ms).replace('T', ' ')} UTC`;

describe('deployment page in the dashboard', { timeout: 240_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'deployment-', consoleErrors });

  let model = '';
  let production = 0;
  let pilot = 0;
  let silent = 0;
  let memberKey = '';
  const row = { payload: records(samples('iris_logreg')).slice(0, 2) };
  const windowStart = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  const windowEnd = windowStart + 2 * 86_400_000;

  const deploymentUrl = () => `${webUrl}/models/${model}/deployment`;
  const card = (title: string) =>
    page.locator('section.card').filter({ has: page.getByRole('heading', { level: 2, name: title, exact: true }) });
  const tableRow = (table: Locator, header: string | RegExp): Locator =>
    table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: header }) });
  const comparisonRow = (version: number) =>
    tableRow(page.getByRole('table', { name: 'Comparison with production' }), new RegExp(`^v${version}\\b`));
  const revisionsTable = () => page.getByRole('table', { name: 'Revisions, newest first' });

  /** Like assertText, but first waits for the text: for what changes in place after a save refreshes the page. */
  async function assertBecomes(locator: Locator, expected: string | RegExp, what: string): Promise<void> {
    await assertVisible(locator.filter({ hasText: expected }), what);
    await assertText(locator, expected, what);
  }

  async function signIn(user: { email: string; password: string; name: string }): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await assertVisible(page.getByRole('banner').getByText(user.name), `${user.name} signed in`);
  }

  async function predict(key: string): Promise<{ version: string | null; role: string | null }> {
    const r = await http(apiUrl, 'POST', `/v1/models/${model}/predict`, { token: key, body: row });
    assert.equal(r.status, 200, r.text);
    return { version: r.headers.get('x-model-version'), role: r.headers.get('x-deployment-role') };
  }

  before(async () => {
    ({ browser, context, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close();
  });

  step(
    'the admin sets up a model with three versions, a group with a member key, an approver and a scientist',
    async () => {
      const first = await registerFixture(apiUrl, adminKey, 'iris_logreg');
      model = first.model;
      production = first.version;
      pilot = (await registerFixture(apiUrl, adminKey, 'iris_logreg', { model, promote: false })).version;
      silent = (await registerFixture(apiUrl, adminKey, 'iris_rf', { model, promote: false })).version;
      const group = await admin('POST', '/v1/groups', { name: groupName });
      assert.equal(group.status, 201, group.text);
      const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('pilot-caller'), role: 'viewer' });
      assert.equal(sa.status, 201, sa.text);
      assert.equal(
        (await admin('POST', `/v1/groups/${group.json.id}/members`, { kind: 'serviceAccount', id: sa.json.id })).status,
        201,
      );
      const key = await admin('POST', '/v1/api-keys', {
        name: 'pilot caller',
        scopes: ['predict'],
        serviceAccountId: sa.json.id,
      });
      assert.equal(key.status, 201, key.text);
      memberKey = key.json.secret;
      for (const u of [approver, scientist]) {
        const r = await admin('POST', '/v1/users', u);
        assert.equal(r.status, 201, `POST /v1/users (${u.role}): ${r.text}`);
      }
    },
  );

  step('the approver opens the deployment page from the model page and sees the defaults', async () => {
    await signIn(approver);
    await page.goto(`/models/${model}`);
    await assertVisible(page.getByRole('heading', { level: 1, name: model, exact: true }), 'the model page');
    await page.getByRole('link', { name: 'Pilots, silent versions, revisions' }).click();
    await page.waitForURL(deploymentUrl());
    await assertVisible(
      page.getByRole('heading', { level: 1, name: 'Deployment', exact: true }),
      'the Deployment heading',
    );
    await assertText(
      card('Production').locator('.production-state'),
      new RegExp(`^follows stage\\s*Follows the Production stage: version ${production} answers\\.$`),
      'production follows the stage',
    );
    await assertText(
      card('Pilots').locator('.empty-state'),
      'No pilots: every caller gets production.',
      'no pilots yet',
    );
    await assertText(card('Silent versions').locator('.empty-state'), 'No silent versions.', 'no silent versions yet');
    await assertText(
      card('Compared with production (last hour)').locator('.empty-state'),
      'Add a pilot or a silent version to compare it with production.',
      'nothing to compare',
    );
    await assertText(
      card('Revisions').locator('.empty-state'),
      'No revisions yet: the first save creates revision 1.',
      'no revisions yet',
    );
  });

  step('the approver pins production to the current version: revision 1', async () => {
    const form = page.getByRole('form', { name: 'Production' });
    await form.getByRole('radio', { name: 'A pinned version' }).check();
    await form.getByLabel('Pinned version', { exact: true }).selectOption(String(production));
    await form.getByLabel('Comment', { exact: true }).fill('baseline: pin v1');
    await form.getByRole('button', { name: 'Save production' }).click();
    await assertBecomes(
      card('Production').locator('.production-state'),
      new RegExp(`^pinned\\s*Pinned to version ${production} \\(the Production stage has version ${production}\\)\\.$`),
      'production is pinned',
    );
    const r1 = tableRow(revisionsTable(), /^1/);
    await assertVisible(r1.getByText('current'), 'revision 1 is current');
    await assertVisible(r1.getByText('baseline: pin v1'), 'the comment of revision 1');
    await assertVisible(r1.getByText(approver.name, { exact: true }), 'the approver as author');
  });

  step('the approver adds a pilot for the group with a time window: revision 2, with its routing rule', async () => {
    const form = page.getByRole('form', { name: 'Add a pilot' });
    await form.getByLabel('Version', { exact: true }).selectOption(String(pilot));
    await form.getByRole('checkbox', { name: groupName }).check();
    await form.getByLabel('Starts (UTC, optional)').fill(utcMinute(windowStart));
    await form.getByLabel('Ends (UTC, optional)').fill(utcMinute(windowEnd));
    await form.getByLabel('Comment', { exact: true }).fill('pilot for the group');
    await form.getByRole('button', { name: 'Add pilot' }).click();

    const pilots = page.getByRole('table', { name: 'Pilots' });
    const r = tableRow(pilots, `v${pilot}`);
    await assertVisible(r, `the pilot of version ${pilot}`);
    await assertText(r.getByRole('cell').nth(0), `Callers in group ${groupName}.`, 'the routing rule');
    await assertText(
      r.getByRole('cell').nth(1),
      `${shown(windowStart)} to ${shown(windowEnd)}`,
      'the time window, in UTC',
    );
    await assertText(
      comparisonRow(pilot).getByRole('cell').first(),
      /^No traffic yet: no caller has been routed to this pilot/,
      'the pilot has no traffic yet',
    );
    await assertVisible(
      tableRow(revisionsTable(), /^2/).getByText('pilot for the group'),
      'revision 2 with its comment',
    );
  });

  step('the approver adds a silent version at 100%: revision 3', async () => {
    const form = page.getByRole('form', { name: 'Add a silent version' });
    await form.getByLabel('Version', { exact: true }).selectOption(String(silent));
    await form.getByLabel('Sample rate (% of production requests)').fill('100');
    await form.getByLabel('Comment', { exact: true }).fill('shadow the forest');
    await form.getByRole('button', { name: 'Add silent version' }).click();

    const r = tableRow(page.getByRole('table', { name: 'Silent versions' }), `v${silent}`);
    await assertVisible(r, `silent version ${silent}`);
    await assertText(r.getByRole('cell').first(), '100% of production requests', 'its sample rate');
    await assertVisible(
      tableRow(page.getByRole('table', { name: 'Pilots' }), `v${pilot}`),
      'the pilot is still listed',
    );
    await assertText(
      comparisonRow(silent).getByRole('cell').first(),
      /^No traffic yet: no production request has been copied to it/,
      'the silent version has no traffic yet',
    );
    const revisions = await revisionsTable().getByRole('rowheader').allInnerTexts();
    assert.deepEqual(
      revisions.map((t) => t.replace(/\s+/g, ' ').trim()),
      ['3 current', '2', '1'],
      'three revisions, newest first',
    );
    await assertVisible(tableRow(revisionsTable(), /^3/).getByText('shadow the forest'), 'revision 3 with its comment');
  });

  step('traffic through the API fills the comparison panel with numbers', async () => {
    for (let i = 0; i < 8; i++)
      assert.deepEqual(
        await predict(memberKey),
        { version: String(pilot), role: 'pilot' },
        'the group member gets the pilot',
      );
    for (let i = 0; i < 20; i++)
      assert.deepEqual(
        await predict(adminKey),
        { version: String(production), role: 'production' },
        'everyone else gets production',
      );

    // Rollups and silent comparisons are flushed every 2 s in the e2e harness.
    const silentCells = comparisonRow(silent).getByRole('cell');
    const pilotCells = comparisonRow(pilot).getByRole('cell');
    const deadline = Date.now() + 30_000;
    for (;;) {
      await page.getByRole('button', { name: 'Refresh comparison' }).click();
      await assertVisible(
        page.getByRole('button', { name: 'Refresh comparison' }),
        'the refresh button back after refreshing',
      );
      const texts = [(await silentCells.nth(0).innerText()).trim(), (await pilotCells.nth(0).innerText()).trim()];
      const [s, p] = texts.map(comparisons);
      if (s && s.compared + s.dropped === 20 && p && p.compared + p.dropped === 8) break;
      if (Date.now() > deadline) assert.fail(`the comparison panel never showed figures: ${JSON.stringify(texts)}`);
      await page.waitForTimeout(1000);
    }
    // Every production request was copied to the silent version and compared, or dropped by the api's budget for
    // silent work (SILENT_CPU_SHARE: a busy box drops a few, and the panel says so).
    const copied = comparisons((await silentCells.nth(0).innerText()).trim())!;
    assert.ok(copied.compared >= 10, `most copies compared: ${JSON.stringify(copied)}`);
    await assertText(silentCells.nth(1), /^\d{1,3}(\.\d)?%$/, 'label agreement as a percentage');
    await assertText(silentCells.nth(2), /^\d+(\.\d+)?(e-\d+)?$/, 'mean |prob diff| as a number');
    await assertText(silentCells.nth(3), '—', 'no regression error for a classifier');
    await assertText(
      silentCells.nth(4),
      /^\d+\.\d+ ms\s+prod \d+\.\d+ ms$/,
      'p50 of the silent version against production',
    );
    await assertText(
      silentCells.nth(5),
      /^\d+\.\d+ ms\s+prod \d+\.\d+ ms$/,
      'p99 of the silent version against production',
    );
    await assertText(silentCells.nth(6), /^0%\s+prod 0%$/, 'no errors on either side');
    // Every pilot request was re-run on production and compared (or dropped, the same way).
    const rerun = comparisons((await pilotCells.nth(0).innerText()).trim())!;
    assert.ok(rerun.compared >= 4, `most pilot requests compared: ${JSON.stringify(rerun)}`);
    await assertText(pilotCells.nth(1), /^\d{1,3}(\.\d)?%$/, "the pilot's label agreement with production");
    await assertText(pilotCells.nth(4), /^\d+\.\d+ ms\s+prod \d+\.\d+ ms$/, 'p50 of the pilot against production');
    await assertText(pilotCells.nth(6), /^0%\s+prod 0%$/, 'the pilot has no errors');
    // From the top, so the sticky top bar is drawn where it belongs in the full-page image.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(screenshotDir(), 'deployment.png'), fullPage: true });
  });

  step('the approver rolls back to revision 1 with the keyboard: pilot and silent version are gone', async () => {
    const rollback = tableRow(revisionsTable(), /^1/).getByRole('button', { name: 'Roll back to this (revision 1)' });
    await rollback.focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('form', { name: 'Roll back to this (revision 1)' });
    await assertVisible(confirm, 'the rollback confirmation');
    // Escape backs out and gives the focus back to the button; Enter opens the confirmation again.
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'hidden' });
    assert.equal(
      await rollback.evaluate((el) => el === document.activeElement),
      true,
      'the focus is back on the rollback button',
    );
    await page.keyboard.press('Enter');
    await assertVisible(
      confirm.getByText('Revision 4 will restore the configuration of revision 1.'),
      'what the rollback does',
    );
    // The comment field has the focus: type and submit without the mouse.
    await page.keyboard.type('pilot and shadow done');
    await page.keyboard.press('Enter');

    await assertBecomes(
      card('Pilots').locator('.empty-state'),
      'No pilots: every caller gets production.',
      'the pilot is gone',
    );
    await assertBecomes(
      card('Silent versions').locator('.empty-state'),
      'No silent versions.',
      'the silent version is gone',
    );
    await assertBecomes(
      card('Production').locator('.production-state'),
      new RegExp(`^pinned\\s*Pinned to version ${production} \\(the Production stage has version ${production}\\)\\.$`),
      'production is still pinned',
    );
    const r4 = tableRow(revisionsTable(), /^4/);
    await assertVisible(r4.getByText('current'), 'revision 4 is current');
    await assertVisible(r4.getByText('pilot and shadow done'), 'the rollback comment');
    await assertText(
      r4.getByRole('cell').nth(3),
      `production pinned to v${production}; no pilots; no silent versions`,
      'the restored configuration',
    );

    const cur = (await admin('GET', `/v1/models/${model}/deployment`)).json.current;
    assert.equal(cur.revision, 4);
    assert.deepEqual([cur.config.pilots, cur.config.silent], [[], []]);
    assert.deepEqual(
      await predict(memberKey),
      { version: String(production), role: 'production' },
      'the group member is back on production',
    );
  });

  step("a model that does not exist shows the API's message", async () => {
    const missing = uniqueId('no-such-model');
    await page.goto(`/models/${missing}/deployment`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Deployment', exact: true }), 'the page heading');
    await assertText(
      page.getByRole('main').getByRole('alert'),
      `Model ${missing} not found`,
      "the API's not-found message",
    );
  });

  step('a scientist sees the production control disabled, and the API refuses the change too', async () => {
    await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await signIn(scientist);
    await page.goto(deploymentUrl());
    const form = page.getByRole('form', { name: 'Production' });
    await assertVisible(
      form.getByText('Only approvers can change what production serves; you are signed in as a scientist.'),
      'why production is disabled',
    );
    assert.equal(
      await form.getByRole('radio', { name: /The version in the Production stage/ }).isDisabled(),
      true,
      'the stage option is disabled',
    );
    assert.equal(await form.getByRole('button', { name: 'Save production' }).isDisabled(), true, 'saving is disabled');
    assert.equal(
      await page.getByRole('form', { name: 'Add a pilot' }).getByLabel('Percentage of callers').isDisabled(),
      true,
      'percentage pilots need an approver',
    );

    const cookie = (await context.cookies(webUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const res = await http(apiUrl, 'PUT', `/v1/models/${model}/deployment`, {
      cookie,
      body: { config: { production: { mode: 'stage' } }, comment: 'past the page' },
    });
    assert.equal(res.status, 403, res.text);
    assert.match(res.json.error.message, /approver/);
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});

/** The comparison panel's first cell: "<compared>\n<compared> compared[, <dropped> dropped]"; null otherwise. */
function comparisons(text: string): { compared: number; dropped: number } | null {
  const m = /^(\d+)\s+\1 compared(?:, (\d+) dropped)?$/.exec(text);
  return m ? { compared: Number(m[1]), dropped: Number(m[2] ?? 0) } : null;
}
