/**
 * The model registry in the dashboard, in a real browser, against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness);
 * E2E_SCREENSHOT_DIR (optional: defaults to test/e2e/screenshots).
 *
 * One story: a scientist uploads a model (a bad metric is named beside its field first) and stages it, is refused Production (in the page and by the API),
 * an approver promotes it through the confirmation dialog, and the history shows who did what (each stage change
 * also checked in the API). A second model with the approval policy goes through an approval request; asking a
 * second time shows the API's 409 in the dialog. Steps build on each other: after a failure the
 * rest are skipped rather than failing with follow-up errors.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import {
  assertText,
  assertVisible,
  requiredEnv,
  screenshotDir,
  storySteps,
  openDashboardPage,
  storyEnv,
} from '../support/browser.js';

const { webUrl, apiUrl, adminApi } = storyEnv();
requiredEnv('E2E_ADMIN_EMAIL');
requiredEnv('E2E_ADMIN_PASSWORD');
const shotsDir = screenshotDir();

// The harness runs tests from the repository root; the fixtures sit next to it.
const modelFile = path.resolve('test/fixtures/models/iris_logreg/model.onnx');
const samples = JSON.parse(readFileSync(path.resolve('test/fixtures/models/iris_logreg/samples.json'), 'utf8')) as {
  inputs: { name: string; columns: string[] }[];
  outputs: { name: string }[];
};

const suffix = randomBytes(4).toString('hex');
const model = `ui-${suffix}`;
const gatedModel = `ui-${suffix}-gated`;
const scientist = {
  email: `scientist-${suffix}@test.modelyard.local`,
  name: `sci-${suffix}`,
  password: `scientist-pw-${suffix}`,
  role: 'scientist',
};
const approver = {
  email: `approver-${suffix}@test.modelyard.local`,
  name: `appr-${suffix}`,
  password: `approver-pw-${suffix}`,
  role: 'approver',
};

describe('model registry in the dashboard', { timeout: 240_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  const step = storySteps({ page: () => page, prefix: 'registry-', consoleErrors });

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(shotsDir, name), fullPage: true });
  }

  async function signIn(user: { email: string; password: string; name: string; role: string }): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await assertText(
      page.getByRole('banner').locator('.identity'),
      new RegExp(`${user.name}[\\s\\S]*\\b${user.role}\\b`),
      `${user.name} signed in as ${user.role}`,
    );
  }

  async function openModel(name: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models', exact: true }).click();
    await page.waitForURL(`${webUrl}/models`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Models', exact: true }), 'the Models heading');
    await page.getByRole('table', { name: 'Models' }).getByRole('link', { name, exact: true }).click();
    await page.waitForURL(`${webUrl}/models/${name}`);
    await assertVisible(page.getByRole('heading', { level: 1, name, exact: true }), `the heading of ${name}`);
  }

  /** The row of one version in the versions table. */
  function versionRow(name: string, version: number): Locator {
    return page
      .getByRole('table', { name: `Versions of ${name}` })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: `v${version}`, exact: true }) });
  }

  /** Fills and submits an upload form; the file goes to the web origin's /api route, which answers 202 (pending). */
  async function upload(
    form: Locator,
    opts: { model: string; fixedModel?: boolean; description: string; tags: string; metrics: string },
  ): Promise<void> {
    if (!opts.fixedModel) await form.getByLabel('Model name', { exact: true }).fill(opts.model);
    await form.getByLabel('ONNX file', { exact: true }).setInputFiles(modelFile);
    await form.getByLabel('Description', { exact: true }).fill(opts.description);
    await form.getByLabel('Tags (key=value, one per line)', { exact: true }).fill(opts.tags);
    await form.getByLabel('Metrics (key=number, one per line)', { exact: true }).fill(opts.metrics);
    const answered = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url() === `${webUrl}/api/v1/models/${opts.model}/versions`,
    );
    await form.getByRole('button', { name: 'Upload and register' }).click();
    const res = await answered;
    assert.equal(res.status(), 202, `the upload answer: ${await res.text()}`);
    assert.equal(((await res.json()) as { status: string }).status, 'pending');
  }

  before(async () => {
    ({ browser, context, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close();
  });

  step('the admin creates a scientist, an approver and a model with the approval policy over the API', async () => {
    for (const u of [scientist, approver]) {
      const r = await adminApi('POST', '/v1/users', u);
      assert.equal(r.status, 201, `POST /v1/users (${u.role}): ${JSON.stringify(r.json)}`);
      assert.equal(r.json.role, u.role);
    }
    const m = await adminApi('POST', '/v1/models', {
      name: gatedModel,
      description: 'Needs a second approver for Production',
      requiresApproval: true,
    });
    assert.equal(m.status, 201, `POST /v1/models: ${JSON.stringify(m.json)}`);
  });

  step('the scientist uploads a new model, a bad metric named beside its field first, and sees it ready', async () => {
    await signIn(scientist);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models', exact: true }).click();
    await page.waitForURL(`${webUrl}/models`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Models', exact: true }), 'the Models heading');

    const open = page.getByRole('button', { name: 'Register a model' });
    assert.equal(await open.getAttribute('aria-expanded'), 'false', 'the upload form starts closed');
    await open.click();
    const form = page.locator('#register-model');
    await assertVisible(form.getByRole('heading', { name: 'Register a model' }), 'the upload form');

    // A metric that is not a number is named under the form and beside its field before any byte is sent.
    let posted = 0;
    const countPosts = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST' && r.url().startsWith(`${webUrl}/api/`)) posted++;
    };
    page.on('request', countPosts);
    await form.getByLabel('Model name', { exact: true }).fill(model);
    await form.getByLabel('ONNX file', { exact: true }).setInputFiles(modelFile);
    const metrics = form.getByLabel('Metrics (key=number, one per line)', { exact: true });
    await metrics.fill('accuracy=high');
    await form.getByRole('button', { name: 'Upload and register' }).click();
    const message = 'Metrics: "accuracy=high" is not a number.';
    await assertText(form.getByRole('alert'), message, 'the message under the form');
    await assertText(form.locator('.error-inline'), message, 'the message beside the metrics');
    assert.equal(await metrics.getAttribute('aria-invalid'), 'true', 'the metrics field is marked invalid');
    assert.equal(
      await metrics.evaluate((el) => el === document.activeElement),
      true,
      'the metrics field has the focus',
    );
    page.off('request', countPosts);
    assert.equal(posted, 0, 'nothing was sent to the API');

    await upload(form, {
      model,
      description: 'Iris classifier uploaded from the dashboard',
      tags: 'team=ui\nsource=e2e',
      metrics: 'accuracy=0.97\nf1=0.96',
    });
    assert.equal(await form.getByRole('alert').count(), 0, 'the error is gone after a good upload');
    assert.equal(await metrics.getAttribute('aria-invalid'), null, 'and the field is no longer marked');

    const status = form.getByRole('status');
    // The worker validates within a second or two; allow for a slow machine.
    await assertVisible(status.getByText(`Version 1 of ${model} is`), 'the version reaching a final status', 30_000);
    await assertText(status, new RegExp(`Version 1 of ${model} is\\s*ready`), 'the version is ready');

    // The list shows the new model (router.refresh after validation).
    const row = page
      .getByRole('table', { name: 'Models' })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: model, exact: true }) });
    await assertVisible(row, `${model} in the models table`);
    await assertVisible(row.getByText('Iris classifier uploaded from the dashboard'), 'its description');
    await assertText(row.getByRole('cell').nth(2), '—', 'no production version yet');
    await screenshot('models.png');
  });

  step('the model page shows the version, its metrics and the signature with feature names', async () => {
    await page
      .locator('#register-model')
      .getByRole('link', { name: `Open ${model}` })
      .click();
    await page.waitForURL(`${webUrl}/models/${model}`);
    await assertVisible(page.getByRole('heading', { level: 1, name: model, exact: true }), 'the model heading');
    await assertVisible(page.getByText('Approvers promote directly'), 'the approval policy');
    await assertText(page.locator('.facts').getByText(sci(), { exact: true }), sci(), 'the scientist as owner');

    const row = versionRow(model, 1);
    await assertVisible(row, 'the row of version 1');
    await assertText(row.locator('.badge-status-ready'), 'ready', 'version 1 is ready');
    await assertVisible(row.getByText('accuracy'), 'the accuracy metric');
    await assertVisible(row.getByText('0.97', { exact: true }), 'the accuracy value');
    await assertVisible(row.getByText(sci(), { exact: true }), 'who registered it');
    await assertVisible(row.getByRole('link', { name: 'Download version 1' }), 'the download link');

    const detail = page.locator('#version-detail');
    await assertVisible(detail.getByRole('heading', { name: 'Version 1' }), 'the version detail');
    const input = samples.inputs[0]!;
    const columns = detail.getByRole('list', { name: `Columns of ${input.name}` });
    await assertVisible(columns, `the columns of input ${input.name}`);
    assert.deepEqual(
      (await columns.getByRole('listitem').allInnerTexts()).map((s) => s.trim()),
      input.columns,
      'the feature names in the signature',
    );
    for (const o of samples.outputs)
      await assertVisible(detail.getByRole('cell', { name: o.name, exact: true }), `output ${o.name}`);
    await assertVisible(detail.getByText('team', { exact: true }), 'the tag key');
    await screenshot('model.png');
  });

  step('Production is not available to a scientist, and the API refuses it with 403', async () => {
    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the stage of version 1' });
    await assertVisible(dialog, 'the stage dialog');
    assert.equal(
      await dialog.getByRole('radio', { name: 'Production' }).isDisabled(),
      true,
      'Production is disabled for a scientist',
    );
    await assertVisible(
      dialog.getByText(/Only approvers can move a version into or out of Production; you are signed in as a scientist/),
      'why Production is disabled',
    );
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // The page only hides the control: the API itself must refuse the scientist's session.
    const cookie = (await context.cookies(webUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    assert.ok(cookie, 'the browser holds a session cookie');
    const res = await fetch(`${apiUrl}/v1/models/${model}/versions/1/stage`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ stage: 'Production', comment: 'sneaking past the dashboard' }),
    });
    const body = (await res.json()) as { error?: { message?: string } };
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.match(body.error?.message ?? '', /approver/i);
  });

  step('the scientist moves version 1 to Staging with a comment', async () => {
    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the stage of version 1' });
    await assertVisible(dialog, 'the stage dialog');
    await dialog.getByRole('radio', { name: 'Staging' }).check();
    await dialog.getByLabel('Comment').fill('ready for review');
    await assertText(
      dialog.locator('.consequence'),
      'Version 1 moves to Staging. Production is not affected.',
      'what moving to Staging does',
    );
    // Hold the request until the button has been seen disabled, so the pending state is checked, not raced.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const stageRoute = `${webUrl}/api/v1/models/${model}/versions/1/stage`;
    await page.route(stageRoute, async (route) => {
      await held;
      await route.continue();
    });
    await dialog.getByRole('button', { name: 'Move to Staging' }).click();
    const pending = dialog.getByRole('button', { name: 'Saving…' });
    await assertVisible(pending, 'the submit button saying it is saving');
    assert.equal(await pending.isDisabled(), true, 'the submit button is disabled while the request runs');
    release();
    await dialog.waitFor({ state: 'hidden' });
    await page.unroute(stageRoute);

    const row = versionRow(model, 1);
    await assertText(row.getByRole('status'), 'Version 1 is now in Staging.', 'the outcome');
    await assertText(row.locator('.badge-stage-staging'), 'Staging', 'the Staging badge');
    const stored = await adminApi('GET', `/v1/models/${model}/versions/1`);
    assert.equal(stored.status, 200, stored.text);
    assert.equal(stored.json.stage, 'Staging', 'the API stored the new stage');
  });

  step('on a model with the approval policy, the scientist uploads a version and requests Production', async () => {
    await openModel(gatedModel);
    await assertVisible(page.getByText('Production needs a second approver to accept'), 'the approval policy');
    await assertVisible(page.getByText('No versions yet.'), 'the empty versions table');
    const form = page.locator('#register');
    await upload(form, {
      model: gatedModel,
      fixedModel: true,
      description: 'gated iris',
      tags: '',
      metrics: 'accuracy=0.95',
    });
    await assertVisible(
      form.getByRole('status').getByText(`Version 1 of ${gatedModel} is`),
      'the version reaching a final status',
      30_000,
    );
    await assertText(form.getByRole('status'), /is\s*ready/, 'the gated version is ready');

    await assertVisible(versionRow(gatedModel, 1), 'the new version in the table');
    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the stage of version 1' });
    // With the policy on, a scientist may ask for Production; a second approver decides.
    await dialog.getByRole('radio', { name: 'Production' }).check();
    await assertText(
      dialog.locator('.consequence'),
      /requires approval: this creates a request that a second approver must accept/,
      'what the request does',
    );
    await dialog.getByLabel('Comment').fill('please review');
    await dialog.getByRole('button', { name: 'Request approval' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await assertText(versionRow(gatedModel, 1).getByRole('status'), /^Approval requested/, 'the approval request');
    await assertVisible(
      page.getByText(/Version 1 waits for approval to go to Production/),
      'the pending request on the model page',
    );
  });

  step("asking again shows the API's refusal in the dialog, which stays open, and stores nothing", async () => {
    // The page offers Production again (it does not know about the request); the API answers 409.
    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the stage of version 1' });
    await assertVisible(dialog, 'the stage dialog');
    assert.equal(await dialog.getByRole('alert').count(), 0, 'a fresh dialog shows no old error');
    assert.equal(await dialog.getByLabel('Comment').inputValue(), '', 'nor the comment typed last time');
    await dialog.getByRole('radio', { name: 'Production' }).check();
    await dialog.getByLabel('Comment').fill('once more');
    await dialog.getByRole('button', { name: 'Request approval' }).click();
    await assertText(
      dialog.getByRole('alert'),
      'An approval request for version 1 is already pending',
      "the API's message in the dialog",
    );
    assert.equal(await dialog.isVisible(), true, 'the dialog stays open');
    assert.equal(await dialog.getByRole('button', { name: 'Request approval' }).isEnabled(), true, 'retry is possible');
    assert.equal(await dialog.getByLabel('Comment').inputValue(), 'once more', 'what was typed is kept');

    const approvals = await adminApi('GET', `/v1/approvals?status=pending&model=${gatedModel}`);
    assert.equal(approvals.status, 200, approvals.text);
    assert.equal((approvals.json as unknown[]).length, 1, 'still one pending request');
    const stored = await adminApi('GET', `/v1/models/${gatedModel}/versions/1`);
    assert.equal(stored.json.stage, 'None', 'the version did not move');

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    assert.equal(await dialog.getByRole('alert').count(), 0, 'reopened, the dialog has no error');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  step('the approver promotes version 1 to Production through the confirmation dialog', async () => {
    await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await signIn(approver);
    await openModel(model);

    await page.getByRole('button', { name: 'Change stage of version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the stage of version 1' });
    await assertVisible(dialog, 'the stage dialog');
    const production = dialog.getByRole('radio', { name: 'Production' });
    assert.equal(await production.isEnabled(), true, 'Production is available to an approver');
    assert.equal(await production.isChecked(), true, 'Production is the suggested next stage from Staging');
    await dialog.getByLabel('Comment').fill('ship it');
    await assertText(
      dialog.locator('.consequence'),
      `Version 1 will serve production traffic; no other version of ${model} is in Production now.`,
      'what promoting does',
    );
    await screenshot('versions-promote.png');
    await dialog.getByRole('button', { name: 'Promote to Production' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const row = versionRow(model, 1);
    await assertText(row.getByRole('status'), 'Version 1 is now in Production.', 'the outcome');
    await assertText(row.locator('.badge-stage-production'), 'Production', 'the Production badge');
    await assertText(page.locator('.facts .badge-stage-production'), 'v1', 'the production version in the header');
  });

  step('the history lists registered → ready → Staging → Production with the right actors', async () => {
    const items = page.getByRole('list', { name: 'History, newest first' }).getByRole('listitem');
    await assertVisible(items.first(), 'the history');
    const texts = (await items.allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    const expected = [
      { text: 'Version 1 Staging → Production', actor: appr(), comment: 'ship it' },
      { text: 'Version 1 None → Staging', actor: sci(), comment: 'ready for review' },
      { text: 'Version 1 pending → ready', actor: 'validation' },
      { text: 'Version 1 registered', actor: sci() },
      { text: 'Model created', actor: sci() },
    ];
    assert.equal(texts.length, expected.length, `history entries: ${JSON.stringify(texts)}`);
    expected.forEach((e, i) => {
      assert.ok(texts[i]!.startsWith(e.text), `entry ${i} is "${e.text}…": ${texts[i]}`);
      assert.ok(texts[i]!.includes(`by ${e.actor}`), `entry ${i} was done by ${e.actor}: ${texts[i]}`);
      if (e.comment)
        assert.ok(texts[i]!.includes(e.comment), `entry ${i} keeps the comment "${e.comment}": ${texts[i]}`);
    });
  });

  step('the approver accepts the pending request on the Approvals page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals', exact: true }).click();
    await page.waitForURL(`${webUrl}/approvals`);
    await assertVisible(
      page.getByRole('heading', { level: 1, name: 'Approvals', exact: true }),
      'the Approvals heading',
    );
    const pending = page.getByRole('table', { name: 'Pending requests' });
    const row = pending.getByRole('row').filter({ has: page.getByRole('link', { name: `${gatedModel} v1` }) });
    await assertVisible(row, `the pending request for ${gatedModel}`);
    await assertVisible(row.getByText(sci(), { exact: true }), 'who requested it');
    await assertVisible(row.getByText('please review'), 'the request comment');
    await assertVisible(
      row.getByText(`Version 1 will serve production traffic; no other version of ${gatedModel} is in Production now.`),
      'what accepting does',
    );
    await screenshot('approvals.png');

    await row.getByLabel(`Comment on ${gatedModel} version 1`).fill('looks good');
    await row.getByRole('button', { name: 'Approve' }).click();
    const decided = page
      .getByRole('table', { name: 'Recently decided requests' })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: `${gatedModel} v1` }) });
    await assertVisible(decided, 'the request among the decided ones');
    await assertText(decided.locator('.badge-decision-approved'), 'approved', 'the decision');
    await assertVisible(decided.getByText(appr(), { exact: true }), 'who decided');
    await assertVisible(decided.getByText('looks good'), 'the decision comment');

    const m = await adminApi('GET', `/v1/models/${gatedModel}`);
    assert.equal(m.json.productionVersion, 1, 'the accepted request put version 1 in Production');
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});

function sci(): string {
  return scientist.name;
}
function appr(): string {
  return approver.name;
}
