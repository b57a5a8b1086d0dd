/**
 * The overview and the models list with more models than a page holds, in a real browser (issue 23): both come
 * from GET /v1/overview a page of 50 at a time, in the order the URL's `sort` asks for.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness).
 *
 * One story: 55 models (no versions: cheap) are created through the api; the models list searched for them has
 * a full first page and the other 5 on the next; sorted by name, the rows come in name order across the pages;
 * the overview shows 50 models and pages to the rest; a model without requests has a flat sparkline. The models are
 * deleted afterwards.
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

const { webUrl, adminApi } = storyEnv();
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD') };
const prefix = `ov-${randomBytes(4).toString('hex')}`;
/** Five more than a page of the overview and the models list (50). */
const COUNT = 55;
/** Created in this order, so by name they come in another: m-054, m-053, ... are the newest. */
const names = Array.from({ length: COUNT }, (_, i) => `${prefix}-m-${String((i * 7) % COUNT).padStart(3, '0')}`);

describe('the overview and models list page through many models', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'overview-', consoleErrors });

  /** The model names of a table's rows, in the order shown, once its rows are there (the page streams them in). */
  const rowNames = async (table: string) => {
    const rows = page.getByRole('table', { name: table, exact: true }).locator('tbody tr');
    await rows.first().waitFor({ timeout: 10_000 });
    return rows.evaluateAll((trs) => trs.map((r) => r.querySelector('a')?.textContent?.trim() ?? ''));
  };

  before(async () => {
    ({ browser, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
    for (const name of names) {
      const r = await adminApi('POST', '/v1/models', { name, description: 'paging story' });
      assert.equal(r.status, 201, `creating ${name}: ${r.text}`);
    }
  });

  after(async () => {
    await browser?.close();
    // Later stories expect their own models on the first pages.
    for (const name of names) await adminApi('DELETE', `/v1/models/${name}`);
  });

  step('signs in', async () => {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
  });

  step('the models list searched for them: a full page of the newest, then the other 5', async () => {
    await page.goto(`/models?q=${prefix}`);
    const newestFirst = [...names].reverse();
    assert.deepEqual(await rowNames('Models'), newestFirst.slice(0, 50), 'the 50 newest, newest first');
    const pager = page.getByRole('navigation', { name: 'Pages of Models' });
    await pager.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/cursor=/);
    assert.deepEqual(await rowNames('Models'), newestFirst.slice(50), 'the 5 oldest on the second page');
    assert.match(page.url(), new RegExp(`q=${prefix}`), 'the search stays while paging');
    await pager.getByRole('link', { name: 'First page' }).click();
    await page.waitForURL((u) => !u.search.includes('cursor='));
    assert.equal((await rowNames('Models')).length, 50);
  });

  step('sorted by name, the rows come in name order across the pages', async () => {
    await page.goto(`/models?q=${prefix}`);
    await page.getByRole('navigation', { name: 'Order of the models' }).getByRole('link', { name: 'Name' }).click();
    await page.waitForURL(/sort=name/);
    const byName = [...names].sort();
    assert.deepEqual(await rowNames('Models'), byName.slice(0, 50));
    await page.getByRole('navigation', { name: 'Pages of Models' }).getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/cursor=/);
    assert.match(page.url(), /sort=name/, 'the order stays while paging');
    assert.deepEqual(await rowNames('Models'), byName.slice(50));
    await page.screenshot({ path: path.join(screenshotDir(), 'models-sorted.png'), fullPage: true });
  });

  step('the overview shows 50 models a page and pages to the rest', async () => {
    await page.goto('/');
    await assertVisible(page.getByRole('table', { name: 'Models overview' }), 'the overview table');
    const first = await rowNames('Models overview');
    // Nothing was created after them: the newest 50 models are these.
    assert.deepEqual(first, [...names].reverse().slice(0, 50), 'the 50 most recently updated');
    await page
      .getByRole('navigation', { name: 'Pages of Models overview' })
      .getByRole('link', { name: 'Next page' })
      .click();
    await page.waitForURL(/cursor=/);
    const second = await rowNames('Models overview');
    assert.deepEqual(second.slice(0, 5), [...names].reverse().slice(50), 'the next page goes on where it stopped');
    assert.deepEqual(pageErrors, [], 'no page errors');
  });

  step(
    'a model without requests draws a flat line along the bottom of its sparkline, across the whole day',
    async () => {
      await page.goto('/');
      const [newest] = await rowNames('Models overview');
      const line = page
        .getByRole('img', { name: `Requests to ${newest} over the last 24 hours` })
        .locator('path.sparkline-line');
      // What is drawn, not how the path spells it: from the first step (x 2) to the last (x 94) at the bottom (y 30).
      const box = await line.evaluate((p) => {
        const b = (p as SVGPathElement).getBBox();
        return { x: b.x, y: b.y, width: b.width, height: b.height };
      });
      assert.deepEqual(box, { x: 2, y: 30, width: 92, height: 0 });
    },
  );
});
