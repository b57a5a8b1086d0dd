/**
 * The dashboard's one table component (apps/web/components/data-table.tsx) on a real page, in a real browser:
 * the audit log, whose rows come from the API a page of 100 at a time.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness).
 *
 * One story: 105 groups are created through the api, so the audit log filtered to "group.created" has more than
 * one page; sorting by a column reorders the rows and says so with aria-sort; "Older entries" moves to the next
 * page and "First page" back; a filter that matches nothing shows the empty state; the page fits 1280 px.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  assertVisible,
  openDashboardPage,
  requiredEnv,
  screenshotDir,
  storyEnv,
  storySteps,
} from '../support/browser.js';
import { registerFixture } from '../support/fixtures.js';

const { webUrl, apiUrl, adminKey, adminApi } = storyEnv();
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD') };
const suffix = randomBytes(4).toString('hex');
/** One more page than the audit page holds (100), so the filtered log has a second page. */
const GROUPS = 105;
const FILTERED = '/audit?action=group.created&objectType=group';

describe('the table component on the audit log', { timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let model = '';
  const groupIds: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'data-table-', consoleErrors });

  const table = () => page.getByRole('table', { name: 'Audit log entries' });
  const objectHeader = () => table().getByRole('columnheader', { name: /^Object/ });
  /** The object ids of the rows in the order shown (the full id is in each truncated cell's tooltip). */
  const objectIds = async (): Promise<string[]> =>
    table()
      .locator('tbody tr td:nth-child(4) .truncate')
      .evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));

  async function assertFits(what: string): Promise<void> {
    const widths = await page.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      frames: [...document.querySelectorAll('.table-frame')].map((f) => ({
        overflow: f.scrollWidth - f.clientWidth,
        // Each column's width, so a failure says which one to look at.
        columns: [...f.querySelectorAll('thead th')]
          .map((th) => `${th.textContent?.trim()} ${Math.round(th.getBoundingClientRect().width)}`)
          .join(', '),
      })),
    }));
    assert.ok(widths.doc <= 1280, `${what}: the page is ${widths.doc} px wide, more than 1280`);
    for (const f of widths.frames) {
      assert.ok(f.overflow <= 0, `${what}: a table scrolls sideways by ${f.overflow} px (${f.columns})`);
    }
  }

  before(async () => {
    ({ browser, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
    // A model with two versions (one in production, with a drift reference), so its pages have tables to measure.
    ({ model } = await registerFixture(apiUrl, adminKey, 'iris_logreg', { reference: true }));
    await registerFixture(apiUrl, adminKey, 'iris_rf', { model, promote: false });
    for (let i = 0; i < GROUPS; i++) {
      const r = await adminApi('POST', '/v1/groups', { name: `dt-${suffix}-${String(i).padStart(3, '0')}` });
      assert.equal(r.status, 201, `creating group ${i}: ${r.text}`);
      groupIds.push((r.json as { id: string }).id);
    }
  });

  after(async () => {
    await browser?.close();
    // The groups were only there to fill the audit log; the stories after this one should not see them.
    for (const id of groupIds) await adminApi('DELETE', `/v1/groups/${id}`);
  });

  step('signs in and opens the audit log filtered to created groups', async () => {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await page.goto(FILTERED);
    await assertVisible(table(), 'the audit table');
    assert.equal(await table().locator('tbody tr').count(), 100, 'a full first page of 100 entries');
    assert.equal(await objectHeader().getAttribute('aria-sort'), 'none', 'not sorted by Object before a click');
    await assertFits('the audit log');
    await page.screenshot({ path: path.join(screenshotDir(), 'data-table-audit.png') });
  });

  step('sorting by Object orders the rows by object id and says so with aria-sort', async () => {
    const before = await objectIds();
    const ascending = [...before].sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }));
    assert.notDeepEqual(before, ascending, 'the newest-first order is not already the id order');

    // The header is a button: usable from the keyboard.
    await objectHeader().getByRole('button').focus();
    await page.keyboard.press('Enter');
    assert.equal(await objectHeader().getAttribute('aria-sort'), 'ascending');
    assert.deepEqual(await objectIds(), ascending, 'rows in ascending object id order');

    await objectHeader().getByRole('button').click();
    assert.equal(await objectHeader().getAttribute('aria-sort'), 'descending');
    assert.deepEqual(await objectIds(), [...ascending].reverse(), 'rows in descending object id order');
  });

  step('"Older entries" moves to the next page and "First page" back', async () => {
    await page.goto(FILTERED);
    const first = await objectIds();
    const pager = page.getByRole('navigation', { name: 'Pages of Audit log entries' });
    await pager.getByRole('link', { name: 'Older entries' }).click();
    await page.waitForURL(/cursor=/);
    await assertVisible(pager.getByRole('link', { name: 'First page' }), 'the link back to the first page');
    const second = await objectIds();
    assert.ok(second.length >= GROUPS - 100, `the second page has the remaining entries (got ${second.length})`);
    assert.deepEqual(
      second.filter((id) => first.includes(id)),
      [],
      'no entry of the first page repeats',
    );
    await assertFits('the second page');

    await pager.getByRole('link', { name: 'First page' }).click();
    await page.waitForURL((u) => !u.search.includes('cursor='));
    assert.deepEqual(await objectIds(), first, 'back on the first page');
  });

  step('every list page fits 1280 px without a table scrolling sideways', async () => {
    const pages = [
      '/',
      '/models',
      '/jobs',
      '/jobs/schedules',
      '/approvals',
      '/users',
      '/groups',
      '/service-accounts',
      '/api-keys',
      '/webhooks',
    ];
    for (const p of pages) {
      await page.goto(p);
      await assertVisible(page.getByRole('heading', { level: 1 }), `the heading of ${p}`);
      await assertFits(p);
    }
    const href = `/models/${model}`;
    for (const p of [href, `${href}?version=1`, `${href}/deployment`, `${href}/drift`, `${href}/latency`]) {
      await page.goto(p);
      await assertVisible(page.getByRole('heading', { level: 1 }), `the heading of ${p}`);
      await assertFits(p);
    }
    await page.goto(href);
    const versions = page.getByRole('table', { name: `Versions of ${model}` });
    await assertVisible(versions, 'the versions table');
    assert.equal(await versions.locator('tbody tr').count(), 2, 'both versions listed on the measured page');
  });

  step('a filter that matches nothing shows the empty state instead of a table', async () => {
    await page.goto('/audit');
    await page.getByLabel('Object id', { exact: true }).fill(`no-such-object-${suffix}`);
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.waitForURL(/objectId=no-such-object/);
    await assertVisible(page.getByText('No entries match these filters.', { exact: true }), 'the empty state');
    assert.equal(await table().count(), 0, 'no empty table is drawn');
    await assertFits('the empty audit log');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
});
