/**
 * Jobs in the dashboard, in a real browser, against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_STORAGE_LOCAL_ROOT (set by the harness); E2E_SCREENSHOT_DIR
 * (optional: defaults to test/e2e/screenshots).
 *
 * One story: a scientist starts a batch job from the form by uploading a CSV (through the web origin's streaming
 * route), watches it reach 100% on its page and downloads the output through the web origin; a job that fails
 * offers Retry, a running one Cancel (and a cancelled one Retry, which the jobs list then follows live to the
 * end); a schedule is created, run, paused and deleted. Steps build on each other: after a failure the rest are
 * skipped rather than failing with follow-up errors.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import {
  assertText,
  assertVisible,
  openDashboardPage,
  requiredEnv,
  screenshotDir,
  storySteps,
  storyEnv,
} from '../support/browser.js';
import { records, registerFile, registerFixture, samples } from '../support/fixtures.js';

const { webUrl, apiUrl, adminKey, adminApi } = storyEnv();
const storageRoot = requiredEnv('E2E_STORAGE_LOCAL_ROOT');
const shotsDir = screenshotDir();

const iris = samples('iris_logreg');
const irisRows = records(iris);
const FEATURES = iris.feature_names;
const HEADER = `id,${FEATURES.join(',')}`;
const OUTPUT_HEADER = `${HEADER},prediction,${iris.classes.map((c) => `probability_${c}`).join(',')}`;

/** Rows for the form upload: chunks of the worker's 10,000, so the progress bar has steps to show. */
const FORM_ROWS = 150_000;
/**
 * The job to cancel, on a model whose cost grows with the rows (test/fixtures/rowcost_iris.onnx, ~0.7 ms of a core
 * a row): ~15 s of CPU, so it is still queued or running when its page opens however fast the batch engine gets
 * (500,000 rows of the plain iris model once took seconds; now they take half of one).
 */
const BIG_ROWS = 20_000;

const suffix = randomBytes(4).toString('hex');
const scientist = {
  email: `jobs-sci-${suffix}@test.modelyard.local`,
  name: `jobs-sci-${suffix}`,
  password: `scientist-pw-${suffix}`,
  role: 'scientist',
};

/** `n` CSV rows cycling through the fixture's sample records, with an id column first. */
function irisCsv(n: number): string {
  const lines = [HEADER];
  for (let i = 0; i < n; i++) {
    const r = irisRows[i % irisRows.length]!;
    lines.push(`r${i},${FEATURES.map((f) => r[f]).join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('jobs in the dashboard', { timeout: 420_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let model = '';
  let slowModel = '';
  let formJobId = '';
  let bigJobId = '';

  const step = storySteps({ page: () => page, prefix: 'jobs-', consoleErrors });

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(shotsDir, name), fullPage: true });
  }

  const statusRow = () => page.locator('.job-status-row');
  const jobStatus = (status: string) => statusRow().getByText(status, { exact: true });
  const fact = (term: string) =>
    page
      .locator('.facts div')
      .filter({ has: page.getByText(term, { exact: true }) })
      .locator('dd');

  /** Fills the new batch job form for `model`, submits it, and returns the job id from the web route's 202. */
  async function submitJobForm(opts: { csv: string; idColumn?: string }): Promise<string> {
    await page.goto('/jobs/new');
    await assertVisible(page.getByRole('heading', { level: 1, name: 'New batch job' }), 'the new job form');
    const form = page.locator('form.job-form');
    await form.getByLabel('Model', { exact: true }).selectOption(model);
    // Options are never "visible" to Playwright: wait for the model's versions to be listed instead.
    const version = form.getByLabel('Version', { exact: true });
    await eventually(
      async () => (await version.locator('option', { hasText: 'Version 1' }).count()) === 1,
      'version 1 among the choices',
      15_000,
    );
    assert.equal(
      await version.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent),
      'Production (v1)',
      'Production chosen by default',
    );
    await form.getByLabel('Upload a file').check();
    await form
      .getByLabel(/^Input file/)
      .setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(opts.csv) });
    if (opts.idColumn) {
      await form.getByLabel('An id column, then the predictions').check();
      await form.getByLabel('Id column', { exact: true }).fill(opts.idColumn);
    }
    const answered = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url() === `${webUrl}/api/v1/jobs`,
    );
    await form.getByRole('button', { name: 'Start batch job' }).click();
    const res = await answered;
    assert.equal(res.status(), 202, `the upload answer: ${await res.text()}`);
    const job = (await res.json()) as { id: string; status: string; model: string; version: number };
    assert.equal(job.model, model);
    assert.equal(job.version, 1);
    await page.waitForURL(`${webUrl}/jobs/${job.id}`);
    await assertVisible(page.getByRole('heading', { level: 1, name: `Job ${job.id.slice(0, 8)}` }), 'the job page');
    return job.id;
  }

  /** Reads the progress bar until the job reaches a final status; returns the percentages seen on the way. */
  async function watchProgress(final: string, timeoutMs: number): Promise<number[]> {
    const bar = page.getByRole('progressbar', { name: 'Job progress' });
    const seen: number[] = [];
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = Number(await bar.getAttribute('value'));
      if (seen[seen.length - 1] !== value) seen.push(value);
      if (await jobStatus(final).isVisible()) break;
      assert.ok(
        Date.now() < until,
        `the job did not reach ${final} within ${timeoutMs} ms (progress seen: ${seen.join(', ')})`,
      );
      await page.waitForTimeout(150);
    }
    const last = Number(await bar.getAttribute('value'));
    if (seen[seen.length - 1] !== last) seen.push(last);
    return seen;
  }

  /** Polls `check` (the page re-renders itself while a job is active) until it holds. */
  async function eventually(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      assert.ok(Date.now() < until, `expected ${what} within ${timeoutMs} ms`);
      await page.waitForTimeout(150);
    }
  }

  function jobRow(id: string): Locator {
    return page
      .getByRole('table', { name: 'Jobs' })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: `Job ${id.slice(0, 8)}` }) });
  }

  before(async () => {
    ({ browser, context, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close();
  });

  step('the admin creates a scientist and registers the iris model over the API', async () => {
    const u = await adminApi('POST', '/v1/users', scientist);
    assert.equal(u.status, 201, `POST /v1/users: ${JSON.stringify(u.json)}`);
    ({ model } = await registerFixture(apiUrl, adminKey, 'iris_logreg', { model: `jobs-ui-${suffix}` }));
    ({ model: slowModel } = await registerFile(apiUrl, adminKey, path.resolve('test/fixtures/rowcost_iris.onnx'), {
      model: `jobs-ui-slow-${suffix}`,
      spec: { sampleInput: irisRows.slice(0, 3) },
    }));
  });

  step('the scientist signs in and finds Jobs in the navigation, empty for this model', async () => {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(scientist.email);
    await page.getByLabel('Password', { exact: true }).fill(scientist.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await assertText(
      page.getByRole('banner').locator('.identity'),
      new RegExp(`${scientist.name}[\\s\\S]*\\bscientist\\b`),
      'signed in as a scientist',
    );

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.waitForURL(`${webUrl}/jobs`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Jobs', exact: true }), 'the Jobs heading');
    await page.getByLabel('Model', { exact: true }).fill(model);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${webUrl}/jobs?type=&status=&model=${model}`);
    await assertVisible(page.getByText('No jobs match these filters.'), 'the empty state for the filter');
    await assertVisible(page.getByRole('link', { name: 'New batch job' }), 'the New batch job button');
  });

  step('a CSV uploaded from the form is scored to 100% on the job page', async () => {
    formJobId = await submitJobForm({ csv: irisCsv(FORM_ROWS) });
    const seen = await watchProgress('succeeded', 90_000);
    assert.equal(seen[seen.length - 1], 100, `the bar ends at 100% (seen: ${seen.join(', ')})`);
    await assertText(statusRow().locator('.job-progress .mono'), '100%', 'the percentage');
    await assertText(fact('Rows in'), FORM_ROWS.toLocaleString('en-US'), 'rows in');
    await assertText(fact('Rows out'), FORM_ROWS.toLocaleString('en-US'), 'rows out');
    await assertText(fact('Rows failed'), '0', 'rows failed');
    await assertText(fact('Attempts'), '1', 'one attempt');
    assert.notEqual(await fact('Finished').innerText(), '—', 'a finish time');
    // A finished, successful job offers neither cancel nor retry.
    assert.equal(
      await page.getByRole('button', { name: 'Cancel job' }).count(),
      0,
      'no Cancel button on a succeeded job',
    );
    assert.equal(
      await page.getByRole('button', { name: 'Retry job' }).count(),
      0,
      'no Retry button on a succeeded job',
    );
    await screenshot('job-detail.png');
  });

  step('the output downloads through the web origin as the scored CSV', async () => {
    const link = page.getByRole('link', { name: 'Download the output file' });
    await assertVisible(link, 'the output download link');
    const href = await link.getAttribute('href');
    assert.equal(href, `/api/v1/jobs/${formJobId}/files/output`);
    // The browser context's request carries the session cookie, like a click on the link would.
    const res = await context.request.get(`${webUrl}${href}`);
    assert.equal(res.status(), 200, await res.text());
    assert.match(res.headers()['content-type'] ?? '', /text\/csv/);
    assert.match(res.headers()['content-disposition'] ?? '', /^attachment; filename=".*-output\.csv"$/);
    const lines = (await res.text()).trimEnd().split('\n');
    assert.equal(lines[0], OUTPUT_HEADER);
    assert.equal(lines.length, FORM_ROWS + 1);
    assert.equal(lines[1]!.split(',')[0], 'r0');
    assert.equal(Number(lines[1]!.split(',')[5]), iris.expected.label[0]);
    // No errors file when every row was scored; the input is there to download too.
    assert.equal(await page.getByRole('link', { name: 'Download the errors file' }).count(), 0);
    const input = await context.request.get(`${webUrl}/api/v1/jobs/${formJobId}/files/input`);
    assert.equal(input.status(), 200);
    assert.equal((await input.text()).split('\n', 1)[0], HEADER);
  });

  step('a job that fails shows the reason and a Retry button, and a retry runs it again', async () => {
    const id = await submitJobForm({ csv: irisCsv(20), idColumn: 'customer' });
    await assertVisible(jobStatus('failed'), 'the job failing', 60_000);
    await assertVisible(page.locator('.job-error').getByText(/id column "customer" is not a column/), 'the reason');
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0, 'no Cancel button on a failed job');
    await page.getByRole('button', { name: 'Retry job' }).click();
    await eventually(async () => (await fact('Attempts').innerText()).trim() === '2', 'a second attempt', 60_000);
    await assertVisible(jobStatus('failed'), 'the retry failing the same way', 60_000);
    await assertVisible(page.getByRole('button', { name: 'Retry job' }), 'Retry offered again');
    assert.ok(id);
  });

  step('a running job offers Cancel; once cancelled it offers Retry', async () => {
    const form = new FormData();
    form.append('spec', JSON.stringify({ model: slowModel }));
    form.append('file', new Blob([irisCsv(BIG_ROWS)]), 'big.csv');
    const res = await fetch(`${apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}` },
      body: form,
    });
    const job = (await res.json()) as { id: string };
    assert.equal(res.status, 202, JSON.stringify(job));
    bigJobId = job.id;
    await page.goto(`/jobs/${bigJobId}`);
    await assertVisible(statusRow().getByText(/^(queued|running)$/), 'the big job still queued or running');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the job' }).click();
    await assertVisible(jobStatus('cancelled'), 'the job cancelled');
    await assertVisible(page.getByRole('button', { name: 'Retry job' }), 'Retry offered for a cancelled job');
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0, 'no Cancel button any more');
    const api = await adminApi('GET', `/v1/jobs/${bigJobId}`);
    assert.equal(api.json.status, 'cancelled');
    assert.ok(api.json.rowsIn < BIG_ROWS, `the cancelled job went on to ${api.json.rowsIn} rows`);
  });

  step('after a retry the jobs list follows the job live until it succeeds', async () => {
    await page.getByRole('button', { name: 'Retry job' }).click();
    await assertVisible(statusRow().getByText(/^(queued|running|succeeded)$/), 'the job back in the queue');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.waitForURL(`${webUrl}/jobs`);
    const row = jobRow(bigJobId);
    await assertVisible(row, 'the big job in the list');
    // The list re-renders every second while a job is active; no reload here.
    await assertVisible(row.getByText('succeeded', { exact: true }), 'the job succeeding in the list', 150_000);
    assert.equal(await row.getByRole('progressbar').getAttribute('value'), '100');
    const n = BIG_ROWS.toLocaleString('en-US');
    await assertText(row.getByRole('cell').nth(3), `${n} / ${n} / 0`, 'rows in / out / failed');
    await assertVisible(jobRow(formJobId).getByText('succeeded', { exact: true }), 'the form job in the list');
    await assertVisible(
      page.getByRole('table', { name: 'Jobs' }).getByText('failed', { exact: true }).first(),
      'the failed job in the list',
    );
    await screenshot('jobs.png');

    // Filters: only the failed job of this model.
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByLabel('Model', { exact: true }).fill(model);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${webUrl}/jobs?type=&status=failed&model=${model}`);
    const rows = page.getByRole('table', { name: 'Jobs' }).locator('tbody tr');
    await assertVisible(rows.first(), 'the filtered list');
    assert.equal(await rows.count(), 1, 'one failed job for this model');
  });

  step('a schedule is created, run now, paused and deleted', async () => {
    const dir = path.join(storageRoot, 'scheduled-ui', suffix);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'a.csv'), irisCsv(10));
    const prefix = `${pathToFileURL(dir).href}/`;
    const name = `nightly-${suffix}`;

    await page.getByRole('navigation', { name: 'Jobs sections' }).getByRole('link', { name: 'Schedules' }).click();
    await page.waitForURL(`${webUrl}/jobs/schedules`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Schedules' }), 'the Schedules heading');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Model', { exact: true }).selectOption(model);
    await page.getByLabel('Cron', { exact: true }).fill('0 3 * * *');
    await page.getByLabel('Input prefix', { exact: true }).fill(prefix);
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await assertVisible(page.getByText(`Schedule “${name}” created.`), 'the confirmation');

    const row = page
      .getByRole('table', { name: 'Schedules' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
    await assertVisible(row, 'the schedule in the list');
    await assertVisible(row.getByText('0 3 * * *', { exact: true }), 'its cron');
    await assertVisible(row.getByText(prefix, { exact: true }), 'its prefix');
    await assertVisible(row.getByText('active', { exact: true }), 'active');
    // Cells after the name: model, cron, prefix, next run, last run, state.
    await assertText(row.getByRole('cell').nth(3), /UTC$/, 'a next run time');
    await assertText(row.getByRole('cell').nth(4), 'never', 'no run yet');

    await row.getByRole('button', { name: `Run ${name} now` }).click();
    await assertVisible(row.getByText('Started: new files become jobs.'), 'the run started');
    let scheduled: { id: string; status: string } | undefined;
    for (let i = 0; i < 100 && !scheduled; i++) {
      await page.waitForTimeout(100);
      scheduled = (
        (await adminApi('GET', `/v1/jobs?model=${model}`)).json.items as {
          id: string;
          status: string;
          scheduleId: string | null;
        }[]
      ).find((j) => j.scheduleId);
    }
    assert.ok(scheduled, 'run now started a job for a.csv');
    await row.getByRole('button', { name: `Pause ${name}` }).click();
    await assertVisible(row.getByText('paused', { exact: true }), 'paused');
    await assertVisible(row.getByRole('button', { name: `Resume ${name}` }), 'the Resume button');
    await assertText(row.getByRole('cell').nth(3), '—', 'no next run while paused');
    await assertText(row.getByRole('cell').nth(4), /UTC$/, 'the last run time');

    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await row.getByRole('button', { name: 'Delete schedule' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(
      (await adminApi('GET', '/v1/schedules')).json.some((s: { name: string }) => s.name === name),
      false,
    );

    // The scheduled job is in the jobs list, marked as such.
    await page.goto(`/jobs?model=${model}`);
    await assertVisible(jobRow(scheduled.id).getByText(/scheduled/), 'the scheduled job in the list');
  });

  step('a finished job is deleted from its page with its files, and leaves the list', async () => {
    const job = (await adminApi('GET', `/v1/jobs/${formJobId}`)).json as { inputUri: string; outputUri: string };
    const files = [job.inputUri, job.outputUri].map((u) => fileURLToPath(u));
    assert.ok(
      files.every((f) => existsSync(f)),
      files.join(', '),
    );
    await page.goto(`/jobs/${formJobId}`);
    await page.getByRole('button', { name: 'Delete job' }).click();
    await page.getByRole('button', { name: 'Yes, delete the job and its files' }).click();
    await page.waitForURL(`${webUrl}/jobs`);
    await assertVisible(page.getByRole('table', { name: 'Jobs' }), 'the jobs list');
    assert.equal(await jobRow(formJobId).count(), 0, 'the deleted job is not listed');
    assert.equal((await adminApi('GET', `/v1/jobs/${formJobId}`)).status, 404);
    assert.deepEqual(
      files.filter((f) => existsSync(f)),
      [],
      'its upload and output are gone from storage',
    );
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
