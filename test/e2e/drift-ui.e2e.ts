/**
 * A model's drift page in the dashboard, in a real browser, against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY (set by the harness, which also logs every prediction,
 * folds drift windows every 2 s (DRIFT_FOLD_SECONDS), evaluates alerts every 2 s (ALERT_EVAL_SECONDS) and makes
 * windows a day long (DRIFT_WINDOW_MINUTES=1440)); E2E_SCREENSHOT_DIR (optional).
 *
 * One story: iris_logreg registered with its reference data; before any traffic the page says so; then 300 rows
 * with petal_length shifted by 3 arrive, and a scientist finds that feature's cell marked drift (the others ok),
 * opens it from the keyboard to see its histogram and metric series, adds a rule for it and sees the alert fire;
 * a copy of that rule is refused (the API's 400 under the form and beside the rule), a second rule is created,
 * edited and deleted through the form (each checked in the stored rules); a viewer sees the rules read-only.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
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
import { reference, registerFixture, drawFromReference } from '../support/fixtures.js';

const { webUrl, apiUrl, adminKey, adminApi } = storyEnv();

const admin = adminApi;
const scientist = person('scientist');
const viewer = person('viewer');
const ref = reference('iris_logreg');
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

const draw = (n: number, shift: Record<string, number>, seed: number) => drawFromReference(ref, n, shift, seed);

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('drift page in the dashboard', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'drift-', consoleErrors });

  let model = '';
  let version = 0;
  const driftUrl = () => `${webUrl}/models/${model}/drift`;
  const card = (title: string) =>
    page.locator('section.card').filter({ has: page.getByRole('heading', { level: 2, name: title, exact: true }) });
  const heatmap = () => page.getByRole('table', { name: 'Drift by column and window' });
  const heatRow = (column: string): Locator =>
    heatmap()
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: column, exact: true }) });
  /** The cell of the (only) window in today's day-long window. */
  const cell = (column: string) => heatRow(column).locator('a.drift-cell');

  async function signIn(user: { email: string; password: string; name: string }): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await assertVisible(page.getByRole('banner').getByText(user.name), `${user.name} signed in`);
  }

  before(async () => {
    ({ browser, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close();
  });

  step('the admin registers iris_logreg with its reference data, a scientist and a viewer', async () => {
    ({ model, version } = await registerFixture(apiUrl, adminKey, 'iris_logreg', {
      model: uniqueId('drift-ui'),
      reference: true,
    }));
    for (const u of [scientist, viewer]) {
      const r = await admin('POST', '/v1/users', u);
      assert.equal(r.status, 201, `POST /v1/users (${u.role}): ${r.text}`);
    }
    const profile = await until('the reference profile', async () => {
      const r = await admin('GET', `/v1/models/${model}/versions/${version}/drift-profile`);
      return r.status === 200 && r.json.status !== 'building' && r.json;
    });
    assert.equal(profile.status, 'ready', profile.error);
  });

  step('before any traffic the drift page, opened from the model page, says there is nothing to show yet', async () => {
    await signIn(scientist);
    await page.goto(`/models/${model}`);
    await page.getByRole('link', { name: 'Drift and alerts' }).click();
    await page.waitForURL(driftUrl());
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Drift', exact: true }), 'the Drift heading');
    assert.equal(
      await page.getByLabel('Version', { exact: true }).inputValue(),
      String(version),
      'the production version is shown by default',
    );
    await assertText(
      page.locator('.drift-profile-state'),
      new RegExp(`^Reference profile of version ${version}: ${ref.rows.length} rows, 4 features`),
      'the profile',
    );
    await assertText(
      card('Latest window').locator('.empty-state'),
      `No drift window for ${model} v${version} yet: it needs a reference profile and logged predictions`,
      "the API's message",
    );
    await assertText(
      card('By column and window').locator('.empty-state'),
      /^No traffic in this range: no prediction of version \d+ was logged between/,
      'no traffic yet',
    );
    await assertText(
      card('Alerts').locator('.empty-state'),
      `No alerts for ${model}: no rule has fired.`,
      'no alerts yet',
    );
  });

  step('with petal_length shifted, its cell is marked drift and the other features ok', async () => {
    // 300 rows in 6 requests: petal_length + 3, the rest drawn like the reference.
    for (let i = 0; i < 6; i++) {
      const r = await http(apiUrl, 'POST', `/v1/models/${model}/predict`, {
        token: adminKey,
        body: { payload: draw(50, { petal_length: 3 }, i + 1) },
      });
      assert.equal(r.status, 200, r.text);
    }
    await until('a window with the 300 rows', async () => {
      const r = await admin('GET', `/v1/models/${model}/drift/latest?version=${version}`);
      return r.status === 200 && r.json.rows >= 300;
    });
    await page.reload();
    await assertVisible(heatmap(), 'the heat map');
    for (const f of FEATURES) {
      const expected = f === 'petal_length' ? 'drift' : 'ok';
      const c = cell(f);
      assert.equal(await c.count(), 1, `one window cell for ${f}`);
      assert.equal(await c.getAttribute('data-status'), expected, `${f} is ${expected}`);
      await assertText(c.locator('.drift-cell-status'), expected, `the word "${expected}" in the cell of ${f}`);
      assert.match(
        (await c.getAttribute('title')) ?? '',
        new RegExp(`^${f}, \\d{4}-\\d{2}-\\d{2}: ${expected} \\(PSI `),
        `the cell's title names ${f} and its status`,
      );
    }
    const drifting = await cell('petal_length').evaluate((el) => getComputedStyle(el).backgroundColor);
    const fine = await cell('sepal_length').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(drifting, fine, 'the drift cell is coloured differently from an ok one');
    await assertText(
      heatmap().locator('.drift-dataset-row td').first(),
      /^warn\s*25%\s*300 rows$/,
      'the dataset drift share of the window',
    );
    const latest = card('Latest window');
    await assertText(
      latest.locator('.facts div').filter({ hasText: 'Drift share' }).locator('dd'),
      /^25% \(1 of 4 features; dataset drift at 50%\)$/,
      'the latest drift share',
    );
    await assertVisible(
      latest.locator('.drift-latest-columns').getByText('petal_length', { exact: true }),
      'petal_length among the columns not ok',
    );
  });

  step('opening the petal_length cell from the keyboard shows its histogram and its metric series', async () => {
    await cell('petal_length').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/[?&]column=petal_length(&|$)/);
    const detail = card('Feature petal_length');
    await assertVisible(detail, 'the detail of petal_length');
    await page.waitForFunction(() => document.activeElement?.id === 'drift-detail-title');
    assert.equal(await cell('petal_length').getAttribute('aria-current'), 'true', 'the chosen cell is marked');

    const histogram = detail.getByRole('figure').filter({ hasText: 'Share of rows per bin' });
    await assertVisible(histogram.locator('.recharts-bar-rectangle').first(), 'the histogram bars');
    await assertText(
      histogram.locator('figcaption'),
      new RegExp(`reference \\(${ref.rows.length} rows\\) vs the window from .* \\(300 rows\\)\\.$`),
      'the histogram caption',
    );
    await assertVisible(
      histogram.locator('.recharts-legend-item').filter({ hasText: 'Current window' }),
      'the histogram legend',
    );

    const distance = detail.getByRole('figure').filter({ hasText: 'PSI and Jensen-Shannon distance per window' });
    await assertVisible(distance.locator('.recharts-line-dot').first(), 'a PSI point');
    await assertVisible(distance.getByText('PSI drift 0.25', { exact: true }), 'the PSI drift threshold line');
    const pValue = detail.getByRole('figure').filter({ hasText: 'p-value of the drift test' });
    await assertVisible(pValue.locator('.recharts-line-dot').first(), 'a p-value point');

    await detail.getByText('The figures as a table').click();
    const figures = detail.getByRole('table', { name: 'Metrics of petal_length by window' });
    await assertText(figures.getByRole('cell').first(), 'drift', 'the status in the figures table');
  });

  step('the scientist adds a rule for petal_length and sees the alert fire', async () => {
    const form = page.getByRole('form', { name: 'Alert rules' });
    await assertText(form.locator('.empty-state'), 'No rules: nothing raises an alert for this model.', 'no rules yet');
    await form.getByRole('button', { name: 'Add a rule' }).click();
    const rule = form.getByRole('group', { name: 'Rule 1' });
    await rule.getByLabel('Kind', { exact: true }).selectOption('feature_drift');
    await rule.getByRole('checkbox', { name: 'petal_length' }).check();
    await rule.getByLabel('Minimum rows in the window').fill('100');
    await rule.getByLabel('Description (optional)').fill('page on petal length');
    await form.getByRole('button', { name: 'Save rules' }).click();
    await assertVisible(card('Alert rules').getByText(`Last changed by ${scientist.name}`), 'who changed the rules');

    const saved = (await admin('GET', `/v1/models/${model}/alert-rules`)).json;
    assert.equal(saved.rules.length, 1);
    assert.deepEqual(
      { ...saved.rules[0], id: undefined },
      {
        kind: 'feature_drift',
        features: ['petal_length'],
        minRows: 100,
        description: 'page on petal length',
        id: undefined,
      },
    );
    // The form shows what the API kept.
    assert.equal(
      await page.getByRole('form', { name: 'Alert rules' }).getByRole('checkbox', { name: 'petal_length' }).isChecked(),
      true,
    );

    const alerts = page.getByRole('table', { name: 'Alerts, newest first' });
    const deadline = Date.now() + 30_000;
    while (!(await alerts.isVisible())) {
      assert.ok(Date.now() < deadline, 'expected the alert to be listed within 30 s');
      await page.waitForTimeout(1000);
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    }
    const row = alerts
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: /Named features in drift/ }) });
    await assertText(row.getByRole('cell').nth(0), 'firing', 'the alert is firing');
    await assertText(row.getByRole('cell').nth(1), `v${version}`, 'for the version');
    await assertText(
      row.getByRole('cell').nth(2),
      /^feature in drift: petal_length\s*1 feature in drift$/,
      'why it fired',
    );
    await page.screenshot({ path: path.join(screenshotDir(), 'drift-detail.png'), fullPage: true });
  });

  step('a second copy of the rule is refused beside it, and nothing is stored', async () => {
    const before = (await admin('GET', `/v1/models/${model}/alert-rules`)).json;
    const form = page.getByRole('form', { name: 'Alert rules' });
    await form.getByRole('button', { name: 'Add a rule' }).click();
    const second = form.getByRole('group', { name: 'Rule 2' });
    await second.getByLabel('Kind', { exact: true }).selectOption('feature_drift');
    await second.getByRole('checkbox', { name: 'petal_length' }).check();
    await second.getByLabel('Minimum rows in the window').fill('100');
    await second.getByLabel('Description (optional)').fill('the same rule again');
    await form.getByRole('button', { name: 'Save rules' }).click();

    // The API's 400 in words under the form, and beside the rule it names (rules.1).
    await assertText(
      form.getByRole('alert'),
      /^Rule 2 has the same id "feature_drift-[0-9a-f]{10}" as rule 1: the same rule twice, or one id given twice$/,
      "the API's message under the form",
    );
    await assertText(
      second.locator('.error-inline'),
      /^Has the same id "feature_drift-[0-9a-f]{10}" as rule 1/,
      'the message beside rule 2',
    );
    assert.equal(await second.getAttribute('aria-invalid'), 'true', 'rule 2 is marked invalid');
    assert.equal(await form.getByRole('group', { name: 'Rule 1' }).getAttribute('aria-invalid'), null);
    assert.equal(await form.getByRole('button', { name: 'Save rules' }).isEnabled(), true, 'saving can be retried');

    const after = (await admin('GET', `/v1/models/${model}/alert-rules`)).json;
    assert.deepEqual(after.rules, before.rules, 'the stored rules did not change');
    assert.equal(after.updatedAt, before.updatedAt);
  });

  step('the scientist turns rule 2 into a drift share rule, edits it, then deletes it', async () => {
    const form = page.getByRole('form', { name: 'Alert rules' });
    const second = form.getByRole('group', { name: 'Rule 2' });
    const stored = async () => (await admin('GET', `/v1/models/${model}/alert-rules`)).json;
    const save = async (expected: string) => {
      const button = form.getByRole('button', { name: 'Save rules' });
      await button.click();
      await assertText(form.getByRole('status'), expected, 'the saved notice');
      assert.equal(await form.getByRole('alert').count(), 0, 'no error left under the form');
      assert.equal(await button.isEnabled(), true, 'the button is usable again');
    };
    const firstRule = (await stored()).rules[0];

    // Create: a drift share rule at 40% beside the feature rule.
    await second.getByLabel('Kind', { exact: true }).selectOption('drift_share');
    await second.getByLabel('Drift share above (%)').fill('40');
    await second.getByLabel('Minimum rows in the window').fill('200');
    await second.getByLabel('Description (optional)').fill('too many features move');
    await save('Saved: 2 rules.');
    let rules = (await stored()).rules;
    assert.equal(rules.length, 2);
    assert.deepEqual(rules[0], firstRule, 'rule 1 is kept as it was (same id, so its alert stays open)');
    assert.deepEqual(
      { ...rules[1], id: undefined },
      { kind: 'drift_share', above: 0.4, minRows: 200, description: 'too many features move', id: undefined },
    );
    assert.equal(await second.getAttribute('aria-invalid'), null, 'the earlier error is gone');
    assert.equal(await second.getByLabel('Drift share above (%)').inputValue(), '40', 'the form shows what was kept');

    // Edit: the limit goes down to 30%; the rule gets a new derived id.
    const firstId = rules[1].id;
    await second.getByLabel('Drift share above (%)').fill('30');
    await save('Saved: 2 rules.');
    rules = (await stored()).rules;
    assert.equal(rules[1].above, 0.3);
    assert.notEqual(rules[1].id, firstId, 'a changed rule is a new rule');
    assert.equal(await second.getByLabel('Drift share above (%)').inputValue(), '30');

    // Delete: rule 2 goes, rule 1 stays untouched.
    await second.getByRole('button', { name: 'Remove rule 2' }).click();
    assert.equal(await form.getByRole('group', { name: 'Rule 2' }).count(), 0, 'rule 2 left the form');
    await save('Saved: 1 rule.');
    rules = (await stored()).rules;
    assert.deepEqual(rules, [firstRule]);

    // After a reload the page draws the stored rule from the API.
    await page.reload();
    const reloaded = page.getByRole('form', { name: 'Alert rules' });
    await assertVisible(reloaded.getByRole('group', { name: 'Rule 1' }), 'rule 1 after the reload');
    assert.equal(await reloaded.getByRole('group', { name: 'Rule 2' }).count(), 0, 'no rule 2 after the reload');
    assert.equal(await reloaded.getByRole('checkbox', { name: 'petal_length' }).isChecked(), true);
  });

  step('a viewer sees the rules read-only', async () => {
    await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await signIn(viewer);
    await page.goto(driftUrl());
    const rules = card('Alert rules');
    await assertVisible(
      rules.getByText('Only scientists and above can change alert rules; you are signed in as a viewer.'),
      'why the rules are read-only',
    );
    const table = rules.getByRole('table', { name: 'Alert rules' });
    await assertText(
      table.getByRole('cell').first(),
      'Fires when any of petal_length is in drift (windows with at least 100 rows).',
      'the rule in words',
    );
    assert.equal(await page.getByRole('button', { name: 'Save rules' }).count(), 0, 'no save button');
    await assertVisible(cell('petal_length'), 'the heat map for a viewer too');
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
