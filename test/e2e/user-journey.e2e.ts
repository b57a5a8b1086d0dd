/**
 * The dashboard as one product, in a real browser, against the running api + worker + web: ONE user journey.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness, which
 * also flushes rollups, folds drift and evaluates alerts every 2 s, and logs every prediction);
 * E2E_SCREENSHOT_DIR (optional: defaults to test/e2e/screenshots).
 *
 * The admin signs in (from a redirect that remembers the page), creates a scientist and an approver (promoted from
 * viewer on the Users page), a group with a service account and its API key, and a webhook. The scientist uploads
 * a model with its drift reference; the approver promotes it; the scientist uploads two more versions; the
 * approver pins production and adds a pilot for the group and a silent version. Traffic fills the latency charts,
 * a shifted feature is flagged as drift on the model page and the overview, a batch job runs to 100%, the
 * approver rolls the deployment back, and the admin finds the webhook deliveries and the audit entries. Last, an
 * invalid session sends the admin to the login page and back to where they were. Every page is screenshotted.
 * Steps build on each other: after a failure the rest are skipped.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { http, uniqueId } from '@modelyard/testing';
import {
  assertText,
  assertVisible,
  openDashboardPage,
  requiredEnv,
  screenshotDir,
  storySteps,
} from '../support/browser.js';
import { FIXTURES_DIR, records, reference, samples, drawFromReference } from '../support/fixtures.js';

const webUrl = requiredEnv('E2E_WEB_URL').replace(/\/+$/, '');
const apiUrl = requiredEnv('E2E_API_URL').replace(/\/+$/, '');
const adminKey = requiredEnv('E2E_ADMIN_API_KEY');
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD'), role: 'admin' };
const adminApi = (method: string, p: string, body?: unknown) => http(apiUrl, method, p, { token: adminKey, body });

const person = (role: string) => {
  const name = uniqueId(`j${role.slice(0, 3)}`);
  return { email: `${name}@test.modelyard.local`, name, password: `${role}-pw-${name}`, role };
};
const scientist = person('scientist');
const approver = person('approver');
const model = uniqueId('journey');
const groupName = uniqueId('journey-pilots');
const accountName = uniqueId('journey-client');

const iris = samples('iris_logreg');
const ref = reference('iris_logreg');
const irisFile = path.join(FIXTURES_DIR, 'iris_logreg', 'model.onnx');
const forestFile = path.join(FIXTURES_DIR, 'iris_rf', 'model.onnx');
const referenceFile = path.join(FIXTURES_DIR, 'iris_logreg', 'reference.json');

const draw = (n: number, shift: Record<string, number>, seed: number) => drawFromReference(ref, n, shift, seed);

describe('the dashboard as one product: one user journey', { timeout: 600_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'journey-', consoleErrors });

  let receiver: Server;
  const received: { event: string; model?: string }[] = [];
  let hookUrl = '';
  let clientKey = '';

  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const card = (title: string) =>
    page.locator('section.card').filter({ has: page.getByRole('heading', { level: 2, name: title, exact: true }) });
  const rowOf = (table: Locator, header: string | RegExp) =>
    table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: header }) });

  /** Follows a side-nav link and waits for the page's heading, so nothing is typed into the page being left. */
  async function go(label: string, heading = label): Promise<void> {
    await nav().getByRole('link', { name: label, exact: true }).click();
    await assertVisible(page.getByRole('heading', { level: 1, name: heading, exact: true }), `the ${heading} page`);
  }

  async function screenshot(name: string, mask: Locator[] = []): Promise<void> {
    // From the top, so the sticky top bar is drawn where it belongs in the full-page image.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(screenshotDir(), name), fullPage: true, mask });
  }

  async function signIn(
    user: { email: string; password: string; role: string },
    landing = `${webUrl}/`,
  ): Promise<void> {
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    // Submitting with Enter: the form must work from the keyboard.
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL(landing);
    await assertText(
      page.getByRole('banner').locator('.identity'),
      new RegExp(`\\b${user.role}\\b`),
      `signed in as ${user.role}`,
    );
  }

  async function switchTo(user: { email: string; password: string; role: string; name?: string }): Promise<void> {
    await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await signIn(user);
    if (user.name)
      await assertVisible(page.getByRole('banner').getByText(user.name, { exact: true }), `${user.name} in the header`);
  }

  /** Waits for `locator` to show `text`: for what changes in place (upload status, a refreshed table). */
  async function assertBecomes(locator: Locator, text: string | RegExp, what: string, timeout = 30_000): Promise<void> {
    await assertVisible(locator.filter({ hasText: text }), what, timeout);
  }

  async function openModel(): Promise<void> {
    await page.goto(`/models/${model}`);
    await assertVisible(page.getByRole('heading', { level: 1, name: model, exact: true }), `the page of ${model}`);
  }

  /** Reloads until `locator` shows `text`: for pages that change with data the worker produces in the background. */
  async function reloadUntil(locator: Locator, text: string | RegExp, what: string, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await locator.filter({ hasText: text }).count()) return;
      assert.ok(
        Date.now() < until,
        `expected ${what} within ${timeoutMs} ms; the page shows: ${await locator.allInnerTexts().catch(() => [])}`,
      );
      await page.waitForTimeout(1000);
      await page.reload();
    }
  }

  async function predict(
    key: string,
    payload: Record<string, number>[],
  ): Promise<{ version: string | null; role: string | null }> {
    const r = await http(apiUrl, 'POST', `/v1/models/${model}/predict`, { token: key, body: { payload } });
    assert.equal(r.status, 200, r.text);
    return { version: r.headers.get('x-model-version'), role: r.headers.get('x-deployment-role') };
  }

  async function uploadOnModelPage(file: string, description: string, version: number): Promise<void> {
    const form = page.locator('#register');
    await form.getByLabel('ONNX file', { exact: true }).setInputFiles(file);
    await form.getByLabel('Description', { exact: true }).fill(description);
    await form.getByRole('button', { name: 'Upload and register' }).click();
    await assertBecomes(
      form.getByRole('status'),
      new RegExp(`Version ${version} of ${model} is\\s*ready`),
      `version ${version} is ready`,
    );
  }

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { event: string; data: { model?: string } };
        received.push({ event: parsed.event, model: parsed.data.model });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/modelyard`;
    ({ browser, context, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close();
    receiver?.close();
  });

  step('a visitor is sent to the login page and, once signed in as admin, lands on the overview', async () => {
    await page.goto('/');
    await page.waitForURL(`${webUrl}/login?next=%2F`);
    await assertVisible(page.getByRole('heading', { name: 'Sign in' }), 'the sign-in page');
    await assertVisible(page.getByText('Modelyard', { exact: true }), 'the product name');
    const icon = await page.locator('link[rel="icon"]').first().getAttribute('href');
    assert.match(icon ?? '', /^\/icon\.svg/, 'the favicon');
    await screenshot('login.png');
    await signIn(admin);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Overview' }), 'the overview heading');
    await assertVisible(card('Recent activity'), 'recent activity for the admin');
    await assertVisible(
      nav().getByRole('link', { name: 'Webhooks', exact: true }),
      'the admin pages in the navigation',
    );
  });

  step(
    'the admin creates a scientist, and an approver that starts as a viewer and is promoted on the Users page',
    async () => {
      await go('Users');
      await assertVisible(page.getByRole('heading', { level: 1, name: 'Users', exact: true }), 'the Users page');
      for (const u of [
        { ...scientist, as: 'scientist' },
        { ...approver, as: 'viewer' },
      ]) {
        await page.getByLabel('Email', { exact: true }).fill(u.email);
        await page.getByLabel('Name', { exact: true }).fill(u.name);
        await page.getByLabel('Initial password', { exact: true }).fill(u.password);
        await page.getByLabel('Role', { exact: true }).selectOption(u.as);
        await page.getByRole('button', { name: 'Create user' }).click();
        const row = page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: u.email });
        await assertVisible(row, `${u.email} in the table`);
        await assertText(row.locator('.badge').first(), u.as, `${u.email} is a ${u.as}`);
      }
      const row = page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: approver.email });
      await row.getByLabel(`Role of ${approver.email}`, { exact: true }).selectOption('approver');
      await row.getByRole('button', { name: 'Save role' }).click();
      await assertVisible(row.locator('.badge-role-approver'), 'the approver role after saving');
      await screenshot('admin.png');
    },
  );

  step(
    'the admin creates a pilot group with a service account and mints its key (shown once, with a copy button)',
    async () => {
      await go('Service accounts');
      await page.getByLabel('Name', { exact: true }).fill(accountName);
      await page.getByRole('button', { name: 'Create service account' }).click();
      await assertVisible(page.getByRole('cell', { name: accountName, exact: true }), 'the new service account');

      await go('Groups');
      await page.getByLabel('Name', { exact: true }).fill(groupName);
      await page.getByRole('button', { name: 'Create group' }).click();
      const group = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: groupName, exact: true }) });
      await assertVisible(group, `the group ${groupName}`);
      await group.getByLabel(`Add member to ${groupName}`).selectOption({ label: accountName });
      await group.getByRole('button', { name: 'Add', exact: true }).click();
      await assertVisible(
        page.getByRole('list', { name: `Members of ${groupName}` }).getByText(accountName, { exact: true }),
        'the member',
      );

      await go('API keys');
      await page.getByLabel('Name', { exact: true }).fill('journey client');
      const owner = page.getByLabel('Owner', { exact: true });
      await owner.selectOption((await owner.locator('option', { hasText: accountName }).getAttribute('value'))!);
      await page.getByRole('checkbox', { name: 'predict', exact: true }).check();
      await page.getByRole('button', { name: 'Create API key' }).click();
      const secret = page.getByLabel('New API key secret');
      await assertVisible(secret, 'the new secret');
      clientKey = (await secret.innerText()).trim();
      await page.getByRole('button', { name: 'Copy', exact: true }).click();
      // Plain http is not a secure context: the clipboard may be refused, and then the secret is selected instead.
      await assertVisible(
        page.getByText(
          /^(Copied to the clipboard\.|Copying is blocked here; the secret is selected, press Ctrl\+C\.)$/,
        ),
        'what Copy did',
      );
    },
  );

  step('the admin subscribes a webhook to deployment changes; its secret is shown once', async () => {
    await go('Webhooks');
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Webhooks', exact: true }), 'the Webhooks page');
    await page.getByLabel('URL', { exact: true }).fill(hookUrl);
    await page.getByLabel('Description', { exact: true }).fill('journey receiver');
    await page.getByRole('checkbox', { name: 'deployment.changed' }).check();
    await page.getByRole('checkbox', { name: 'deployment.rolled_back' }).check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await assertVisible(page.getByLabel('New webhook signing secret'), 'the signing secret');
    await assertVisible(page.getByText('It will not be shown again.'), 'the show-once warning');
    await assertVisible(rowOf(page.getByRole('table', { name: 'Webhooks' }), hookUrl), 'the webhook in the list');
  });

  step(
    'the scientist sees no admin pages and uploads a model with its drift reference from the Models page',
    async () => {
      await switchTo(scientist);
      assert.equal(
        await nav().getByRole('link', { name: 'Users', exact: true }).count(),
        0,
        'no Users link for a scientist',
      );
      assert.equal(
        await nav().getByRole('link', { name: 'Webhooks', exact: true }).count(),
        0,
        'no Webhooks link for a scientist',
      );
      assert.equal(await card('Recent activity').count(), 0, 'no audit activity for a scientist');

      await go('Models');
      await page.getByRole('button', { name: 'Register a model' }).click();
      const form = page.locator('#register-model');
      await form.getByLabel('Model name', { exact: true }).fill(model);
      await form.getByLabel('ONNX file', { exact: true }).setInputFiles(irisFile);
      await form.getByLabel('Drift reference (JSON, optional)').setInputFiles(referenceFile);
      await form.getByLabel('Description', { exact: true }).fill('Iris classifier for the journey');
      await form.getByRole('button', { name: 'Upload and register' }).click();
      await assertBecomes(
        form.getByRole('status'),
        new RegExp(`Version 1 of ${model} is\\s*ready`),
        'version 1 is ready',
      );

      await form.getByRole('link', { name: `Open ${model}` }).click();
      await page.waitForURL(`${webUrl}/models/${model}`);
      const detail = page.locator('#version-detail');
      await assertVisible(detail.getByRole('heading', { name: 'Version 1' }), 'the version detail');
      await assertText(
        detail.locator('dt:text-is("Drift reference") + dd'),
        'stored',
        'the reference went along with the upload',
      );
      await assertText(
        card('Drift').locator('p').first(),
        new RegExp(`No drift window for ${model} v1 yet`),
        'no drift data before any traffic',
      );
      await screenshot('model.png');

      // Drift windows only fold rows of versions whose profile is ready: wait for the worker to build it.
      const until = Date.now() + 60_000;
      for (;;) {
        const p = await adminApi('GET', `/v1/models/${model}/versions/1/drift-profile`);
        if (p.status === 200 && p.json.status === 'ready') break;
        assert.ok(
          Date.now() < until && (p.status !== 200 || p.json.status !== 'failed'),
          `the drift profile: ${p.text}`,
        );
        await page.waitForTimeout(500);
      }
    },
  );

  step('the approver promotes version 1 to Production', async () => {
    await switchTo(approver);
    await openModel();
    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the stage of version 1' });
    await dialog.getByRole('radio', { name: 'Production' }).check();
    await dialog.getByLabel('Comment').fill('ship the journey model');
    await assertText(dialog.locator('.consequence'), /^Version 1 will serve production traffic/, 'what promoting does');
    await screenshot('versions-promote.png');
    await dialog.getByRole('button', { name: 'Promote to Production' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await assertText(page.locator('.facts .badge-stage-production'), 'v1', 'the production version in the header');
  });

  step('the scientist registers two candidates on the model page', async () => {
    await switchTo(scientist);
    await openModel();
    await uploadOnModelPage(irisFile, 'pilot candidate', 2);
    await uploadOnModelPage(forestFile, 'random forest, to shadow production', 3);
  });

  step('the approver pins production, adds a pilot for the group and a silent version', async () => {
    await switchTo(approver);
    await openModel();
    await page.getByRole('link', { name: 'Pilots, silent versions, revisions' }).click();
    await page.waitForURL(`${webUrl}/models/${model}/deployment`);

    const production = page.getByRole('form', { name: 'Production' });
    await production.getByRole('radio', { name: 'A pinned version' }).check();
    await production.getByLabel('Pinned version', { exact: true }).selectOption('1');
    await production.getByLabel('Comment', { exact: true }).fill('baseline');
    await production.getByRole('button', { name: 'Save production' }).click();
    await assertVisible(
      card('Production').locator('.production-state').filter({ hasText: 'Pinned to version 1' }),
      'production pinned to v1',
    );

    const pilot = page.getByRole('form', { name: 'Add a pilot' });
    await pilot.getByLabel('Version', { exact: true }).selectOption('2');
    await pilot.getByRole('checkbox', { name: groupName }).check();
    await pilot.getByLabel('Comment', { exact: true }).fill('pilot for the group');
    await pilot.getByRole('button', { name: 'Add pilot' }).click();
    await assertText(
      rowOf(page.getByRole('table', { name: 'Pilots' }), 'v2')
        .getByRole('cell')
        .nth(0),
      `Callers in group ${groupName}.`,
      'the pilot for the group',
    );

    const silent = page.getByRole('form', { name: 'Add a silent version' });
    await silent.getByLabel('Version', { exact: true }).selectOption('3');
    await silent.getByLabel('Sample rate (% of production requests)').fill('100');
    await silent.getByLabel('Comment', { exact: true }).fill('shadow the forest');
    await silent.getByRole('button', { name: 'Add silent version' }).click();
    await assertText(
      rowOf(page.getByRole('table', { name: 'Silent versions' }), 'v3')
        .getByRole('cell')
        .first(),
      '100% of production requests',
      'the silent version',
    );
  });

  step('traffic fills the latency charts: production, pilot and silent side by side', async () => {
    // Rows drawn like the reference, so this traffic alone shows no drift.
    for (let i = 0; i < 20; i++)
      assert.deepEqual(
        await predict(adminKey, draw(2, {}, 100 + i)),
        { version: '1', role: 'production' },
        'production answers',
      );
    for (let i = 0; i < 10; i++)
      assert.deepEqual(
        await predict(clientKey, draw(2, {}, 200 + i)),
        { version: '2', role: 'pilot' },
        'the group gets the pilot',
      );

    await page.goto(`/models/${model}`);
    await page.getByRole('link', { name: 'Latency and errors' }).click();
    await page.waitForURL(`${webUrl}/models/${model}/latency`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Latency', exact: true }), 'the Latency page');
    await assertText(
      page.getByRole('navigation', { name: 'Time range' }).locator('[aria-current="page"]'),
      '1 h',
      'the last hour by default',
    );
    await assertVisible(page.getByRole('checkbox', { name: /Refresh every 5 s/ }), 'the auto-refresh switch');
    // Rollups are written every 2 s and the page refreshes itself every 5 s: no reload here.
    const table = page.getByRole('table', { name: 'Latency by version and role' });
    // A silent copy runs after production has answered, within SILENT_MAX_CONCURRENCY and SILENT_CPU_SHARE: a busy
    // box drops a few (counted as dropped, never as requests), so the silent series shows most of the 20.
    const counts = {
      'production v1': ['20', /^20$/],
      'pilot v2': ['10', /^10$/],
      'silent v3': ['10-20', /^(1\d|20)$/],
    };
    for (const [series, [count, pattern]] of Object.entries(counts)) {
      await assertVisible(
        rowOf(table, series).getByRole('cell').first().filter({ hasText: pattern }),
        `${count} requests for ${series}`,
        30_000,
      );
    }
    const prod = rowOf(table, 'production v1').getByRole('cell');
    await assertText(prod.nth(2), '0%', 'no production errors');
    for (const i of [3, 4, 5]) await assertText(prod.nth(i), /^\d+(\.\d+)? ms$/, 'a production latency quantile');
    assert.deepEqual(
      await table.getByRole('rowheader').allInnerTexts(),
      ['production v1', 'pilot v2', 'silent v3'],
      'every role, production first',
    );

    // Requests/s is 0 where there was no traffic, so its lines cross the chart; latency exists only in the
    // minute or two that had traffic, so those show as dots.
    await assertVisible(
      page.getByRole('figure', { name: 'Requests per second' }).locator('.recharts-line-curve').first(),
      'a line on the requests chart',
    );
    await assertVisible(
      page.getByRole('figure', { name: 'Latency p99' }).locator('.recharts-line-dot').first(),
      'a point on the latency chart',
    );
    for (const chart of ['Requests per second', 'Error rate', 'Latency p99']) {
      assert.equal(
        await page.getByRole('figure', { name: chart }).locator('.recharts-line').count(),
        3,
        `three series on the ${chart} chart`,
      );
    }
    // A horizontal line has no height, so Playwright never calls it visible: check that it is drawn.
    assert.equal(
      await page.getByRole('figure', { name: 'Latency p99' }).locator('line.recharts-reference-line-line').count(),
      1,
      'the SLO line',
    );
    await assertVisible(page.getByRole('figure', { name: 'Latency p99' }).getByText('SLO 300 ms'), 'the SLO label');
    await page.getByRole('radio', { name: 'p50' }).check();
    await assertVisible(page.getByRole('figure', { name: 'Latency p50' }), 'the p50 chart after switching quantile');
    await screenshot('latency.png');
  });

  step('a shifted feature is flagged as drift on the model page, with an open alert on the overview', async () => {
    // The rule gets an id of its own: an alert's open key is `<rule id>:<version>` and unique across models, so a
    // content-derived id shared with another model's identical rule (drift.e2e's) would never open here.
    const rules = await adminApi('PUT', `/v1/models/${model}/alert-rules`, {
      rules: [{ id: `${model}-petal`, kind: 'feature_drift', features: ['petal_length'], minRows: 100 }],
    });
    assert.equal(rules.status, 200, rules.text);
    // Two of the four features move: a drift share of 0.5 flags the whole dataset, not only the features.
    for (let i = 0; i < 6; i++) await predict(adminKey, draw(50, { petal_length: 3, petal_width: 2 }, i + 1));

    await openModel();
    const drift = card('Drift');
    await reloadUntil(drift.locator('.badge-drift-drift'), 'drift', 'the drift badge on the model page');
    const row = rowOf(page.getByRole('table', { name: `Drift of ${model} by feature` }), 'petal_length');
    await assertText(row.locator('.badge'), 'drift', 'petal_length drifted');
    await assertText(
      rowOf(page.getByRole('table', { name: `Drift of ${model} by feature` }), 'sepal_width').locator('.badge'),
      'no drift',
      'sepal_width did not move',
    );
    await assertText(
      drift.locator('p').first(),
      /^Version 1: \d+ rows logged .* 2 of 4 features drifted/,
      'the window and its drifted features',
    );
    await screenshot('model-drift.png');
    // The model's drift page: the heat map marks the shifted features.
    await page.getByRole('link', { name: 'Drift and alerts' }).click();
    const shifted = page.locator('a[data-status="drift"]').filter({ hasText: 'drift' });
    await assertVisible(shifted.first(), 'a drift cell in the heat map');
    assert.equal(
      (await page
        .locator('a[data-status]')
        .filter({ has: page.locator('.drift-cell-status') })
        .count()) > 0,
      true,
      'the heat map has cells',
    );
    await screenshot('drift.png');

    await go('Overview');
    await page.waitForURL(`${webUrl}/`);
    const overview = rowOf(page.getByRole('table', { name: 'Models overview' }), model);
    await reloadUntil(overview.locator('.badge-danger'), '1 open', 'the open drift alert on the overview');
    const cells = overview.getByRole('cell');
    await assertText(cells.nth(0), /^v1\s*pinned$/, 'production v1, pinned');
    await assertText(cells.nth(1), 'v2', 'the pilot');
    await assertText(cells.nth(2), 'v3', 'the silent version');
    await assertText(cells.nth(3), '36', 'requests answered in 24 h (silent copies are not requests)');
    await assertVisible(
      cells
        .nth(3)
        .getByRole('img', { name: `Requests to ${model} over the last 24 hours` })
        .locator('.sparkline-line'),
      'the sparkline',
    );
    await assertText(cells.nth(4), '0%', 'no errors');
    await assertText(cells.nth(5), /^\d+(\.\d+)? ms\s*\/ 300 ms$/, 'p99 against the 300 ms SLO');
    await assertText(cells.nth(6), 'drift', 'the drift badge');
    await screenshot('overview.png');
  });

  step('the scientist scores a CSV with a batch job to 100%', async () => {
    await switchTo(scientist);
    await go('Jobs');
    await page.getByRole('link', { name: 'New batch job' }).click();
    const form = page.locator('form.job-form');
    await form.getByLabel('Model', { exact: true }).selectOption(model);
    await assertVisible(
      form.getByLabel('Version', { exact: true }).and(page.locator(':enabled')),
      'the version choices',
    );
    await form.getByLabel('Upload a file').check();
    const csv = [
      `id,${iris.feature_names.join(',')}`,
      ...records(iris).map((r, i) => `r${i},${iris.feature_names.map((f) => r[f]).join(',')}`),
    ].join('\n');
    await form
      .getByLabel(/^Input file/)
      .setInputFiles({ name: 'journey.csv', mimeType: 'text/csv', buffer: Buffer.from(`${csv}\n`) });
    await form.getByRole('button', { name: 'Start batch job' }).click();
    await page.waitForURL(new RegExp(`${webUrl}/jobs/[0-9a-f-]{36}$`));
    await assertVisible(
      page.locator('.job-status-row').getByText('succeeded', { exact: true }),
      'the job succeeded',
      60_000,
    );
    assert.equal(
      await page.getByRole('progressbar', { name: 'Job progress' }).getAttribute('value'),
      '100',
      'the bar at 100%',
    );
    await assertText(page.locator('.job-status-row .job-progress .mono'), '100%', 'the percentage');

    await go('Jobs');
    const row = page.getByRole('table', { name: 'Jobs' }).getByRole('row').filter({ hasText: model });
    await assertVisible(row.getByText('succeeded', { exact: true }).first(), 'the job in the list');
    await screenshot('jobs.png');
  });

  step('the approver rolls the deployment back to revision 1: pilot and silent version are gone', async () => {
    await switchTo(approver);
    await page.goto(`/models/${model}/deployment`);
    const revisions = page.getByRole('table', { name: 'Revisions, newest first' });
    await rowOf(revisions, /^1/).getByRole('button', { name: 'Roll back to this (revision 1)' }).click();
    const confirm = page.getByRole('form', { name: 'Roll back to this (revision 1)' });
    await assertVisible(
      confirm.getByText('Revision 4 will restore the configuration of revision 1.'),
      'what the rollback does',
    );
    await page.keyboard.type('journey done');
    await page.keyboard.press('Enter');
    await assertVisible(
      card('Pilots').locator('.empty-state').filter({ hasText: 'No pilots: every caller gets production.' }),
      'no pilots',
    );
    await assertVisible(
      card('Silent versions').locator('.empty-state').filter({ hasText: 'No silent versions.' }),
      'no silent versions',
    );
    await assertVisible(rowOf(revisions, /^4/).getByText('journey done'), 'revision 4 with the comment');
    await screenshot('deployment.png');
    assert.deepEqual(
      await predict(clientKey, records(iris).slice(0, 1)),
      { version: '1', role: 'production' },
      'the group is back on production',
    );
  });

  step('the admin finds the webhook deliveries and the audit entries of the deployment', async () => {
    await switchTo(admin);
    await go('Webhooks');
    await page.getByRole('link', { name: `Deliveries of ${hookUrl}` }).click();
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Deliveries' }), 'the deliveries page');
    const deliveries = page.getByRole('table', { name: 'Deliveries, newest first' });
    await reloadUntil(
      deliveries.getByRole('row').filter({ hasText: 'succeeded' }),
      'deployment.changed',
      'the four deployment.changed deliveries',
      30_000,
    );
    const until = Date.now() + 30_000;
    while ((await deliveries.getByRole('row').filter({ hasText: 'succeeded' }).count()) < 4) {
      assert.ok(Date.now() < until, 'four succeeded deliveries');
      await page.waitForTimeout(1000);
      await page.reload();
    }
    await assertText(deliveries.getByRole('row').nth(1).getByRole('cell').nth(2), 'HTTP 204', 'the receiver answer');
    assert.equal(
      received.filter((r) => r.event === 'deployment.changed' && r.model === model).length,
      4,
      'four deployment.changed events received',
    );
    await screenshot('webhooks.png');

    await go('Audit log');
    const filter = page.getByRole('form', { name: 'Filter the audit log' });
    await filter.getByLabel('Actor', { exact: true }).selectOption({ label: approver.email });
    await filter.getByLabel('Action', { exact: true }).fill('deployment.changed');
    await filter.getByLabel('Object type', { exact: true }).selectOption('model');
    await filter.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/audit\?actor=.*&action=deployment\.changed&objectType=model/);
    const entries = page.getByRole('table', { name: 'Audit log entries' }).getByRole('row');
    await assertVisible(entries.nth(1), 'the filtered entries');
    assert.equal(await entries.count(), 1 + 4, 'four deployment changes by the approver');
    for (const text of await entries.allInnerTexts())
      if (!/^Time/i.test(text)) assert.match(text, new RegExp(`${approver.name}[\\s\\S]*deployment\\.changed`));
    await screenshot('audit.png');
  });

  step('an invalid session sends the admin to the login page and back to the page they were on', async () => {
    const target = `/models/${model}/latency?range=24h`;
    await context.addCookies([{ name: 'modelyard_session', value: 'expired-or-forged', url: webUrl }]);
    await page.goto(target);
    await page.waitForURL(`${webUrl}/login?next=${encodeURIComponent(target)}`);
    await assertVisible(page.getByRole('heading', { name: 'Sign in' }), 'the sign-in page');
    await signIn(admin, `${webUrl}${target}`);
    await assertText(
      page.getByRole('navigation', { name: 'Time range' }).locator('[aria-current="page"]'),
      '24 h',
      'back on the 24 h latency page',
    );
    await assertVisible(
      rowOf(page.getByRole('table', { name: 'Latency by version and role' }), 'production v1'),
      'the data after signing in again',
    );
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
