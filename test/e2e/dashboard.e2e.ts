/**
 * The dashboard in a real browser, against a running api + web (started by the test harness).
 *
 * Env: E2E_WEB_URL, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD; E2E_API_URL (optional: defaults to the web
 * origin's /api rewrite); E2E_SCREENSHOT_DIR (optional: defaults to test/e2e/screenshots).
 *
 * One story, one browser page, steps in order: each step builds on the previous one, so after a failure
 * the remaining steps are skipped instead of failing with confusing follow-up errors.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  assertText,
  assertVisible,
  requiredEnv,
  screenshotDir,
  storySteps,
  openDashboardPage,
} from '../support/browser.js';

const webUrl = requiredEnv('E2E_WEB_URL').replace(/\/+$/, '');
const apiUrl = (process.env.E2E_API_URL || `${webUrl}/api`).replace(/\/+$/, '');
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD') };
const shotsDir = screenshotDir();

const suffix = randomBytes(4).toString('hex');
const groupName = `g-${suffix}`;
const serviceAccountName = `sa-${suffix}`;
const keyName = `k-${suffix}`;

describe('dashboard', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page;
  let secret = '';
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  const step = storySteps({ page: () => page, prefix: '', consoleErrors });

  async function navigate(label: string, pathname: string, heading: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
    await page.waitForURL(`${webUrl}${pathname}`);
    await assertVisible(
      page.getByRole('heading', { level: 1, name: heading, exact: true }),
      `the "${heading}" page heading`,
    );
  }

  async function screenshot(name: string, mask: Locator[] = []): Promise<void> {
    await page.screenshot({ path: path.join(shotsDir, name), fullPage: true, mask });
  }

  before(async () => {
    ({ browser, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close();
  });

  step('shows the API error message for a wrong password', async () => {
    await page.goto('/users');
    // Not signed in: the dashboard sends us to the login page and remembers where we wanted to go.
    await page.waitForURL(/\/login\?next=%2Fusers$/);
    await assertVisible(page.getByRole('heading', { name: 'Sign in' }), 'the sign-in heading');
    await screenshot('login.png');

    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(`${admin.password}-wrong`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await assertText(page.getByRole('main').getByRole('alert'), /invalid email or password/i, 'the API error message');
    assert.match(page.url(), /\/login/);
  });

  step('signs in as admin and lands on the overview', async () => {
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    // Submitting with Enter: the form must be usable from the keyboard.
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL(`${webUrl}/`);

    const main = page.getByRole('main');
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Overview' }), 'the overview heading');
    await assertVisible(main.getByRole('heading', { level: 2, name: 'Models', exact: true }), 'the models card');
    // Admins see what happened lately; their own sign-in is the newest entry.
    await assertVisible(
      main.getByRole('list', { name: 'Recent activity, newest first' }).getByText('signed in').first(),
      'the admin sign-in in the recent activity',
    );
    const header = page.getByRole('banner');
    await assertVisible(header.getByText('Modelyard', { exact: true }), 'the product name');
    await assertText(header.locator('.identity'), /\badmin\b/, "the admin's role in the header");
    await assertVisible(header.getByRole('button', { name: 'Log out' }), 'the logout button');
    await screenshot('overview.png');
  });

  step('creates a group', async () => {
    await navigate('Groups', '/groups', 'Groups');
    await page.getByLabel('Name', { exact: true }).fill(groupName);
    await page.getByRole('button', { name: 'Create group' }).click();
    await assertVisible(page.getByRole('heading', { name: groupName, exact: true }), `the new group ${groupName}`);
  });

  step('creates a service account', async () => {
    await navigate('Service accounts', '/service-accounts', 'Service accounts');
    await page.getByLabel('Name', { exact: true }).fill(serviceAccountName);
    await page.getByLabel('Description', { exact: true }).fill('created by the dashboard e2e test');
    await page.getByRole('button', { name: 'Create service account' }).click();
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: serviceAccountName, exact: true }) });
    await assertVisible(row, `the new service account ${serviceAccountName} in the table`);
    const role = row.getByLabel(`Role of ${serviceAccountName}`, { exact: true });
    assert.equal(await role.inputValue(), 'viewer', 'the default role of the new service account');
    // An admin changes its role in place; the page shows the saved role after a reload.
    await role.selectOption('scientist');
    await row.getByRole('button', { name: 'Save role' }).click();
    await assertVisible(row.getByRole('button', { name: 'Save role', disabled: true }), 'the role saved');
    await page.reload();
    assert.equal(
      await page.getByLabel(`Role of ${serviceAccountName}`, { exact: true }).inputValue(),
      'scientist',
      'the new role after a reload',
    );
  });

  step('adds the service account to the group', async () => {
    await navigate('Groups', '/groups', 'Groups');
    const card = page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: groupName, exact: true }) });
    await assertVisible(card, `the card of ${groupName}`);
    await assertVisible(card.getByText('No members.'), 'an empty member list');
    await card.getByLabel(`Add member to ${groupName}`).selectOption({ label: serviceAccountName });
    await card.getByRole('button', { name: 'Add', exact: true }).click();

    const members = page.getByRole('list', { name: `Members of ${groupName}` });
    await assertVisible(members.getByText(serviceAccountName, { exact: true }), `${serviceAccountName} as a member`);
    await assertVisible(
      members.getByRole('button', { name: `Remove ${serviceAccountName} from ${groupName}` }),
      'a remove button',
    );
    await screenshot('groups.png');
  });

  step('creates an API key owned by the service account and shows the secret once', async () => {
    await navigate('API keys', '/api-keys', 'API keys');
    await page.getByLabel('Name', { exact: true }).fill(keyName);
    const owner = page.getByLabel('Owner', { exact: true });
    const option = owner.locator('option', { hasText: serviceAccountName });
    const value = await option.getAttribute('value');
    assert.ok(value, `${serviceAccountName} is offered as an owner`);
    await owner.selectOption(value);

    // A viewer service account may only get viewer scopes: the form must not offer more.
    await assertVisible(page.getByRole('checkbox', { name: 'predict', exact: true }), 'the predict scope');
    assert.equal(
      await page.getByRole('checkbox', { name: 'admin', exact: true }).count(),
      0,
      'admin scope offered for a viewer owner',
    );
    await page.getByRole('checkbox', { name: 'predict', exact: true }).check();
    await page.getByRole('button', { name: 'Create API key' }).click();

    await assertVisible(page.getByText('This key will not be shown again'), 'the show-once warning');
    await assertVisible(page.getByRole('button', { name: 'Copy', exact: true }), 'the copy button');
    const secretBox = page.getByLabel('New API key secret');
    await assertVisible(secretBox, 'the new secret');
    secret = (await secretBox.innerText()).trim();
    assert.ok(secret.length >= 16, `a plausible secret, got ${JSON.stringify(secret)}`);

    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: keyName, exact: true }) });
    await assertVisible(row, `the new key ${keyName} in the table`);
    await assertVisible(row.getByText(serviceAccountName, { exact: true }), 'the service account as owner');
    await assertVisible(row.getByText('predict', { exact: true }), 'the predict scope on the key');
    await assertVisible(row.getByText('active', { exact: true }), 'the key as active');
    assert.ok(!(await row.innerText()).includes(secret), 'the table must never show the secret');
    // The secret is masked: screenshots end up in CI artifacts.
    await screenshot('api-keys.png', [secretBox]);
  });

  step('the key authenticates as the service account, in the group', async () => {
    const res = await fetch(`${apiUrl}/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    const body = (await res.json()) as {
      kind?: string;
      name?: string;
      groups?: { name: string }[];
      scopes?: string[] | null;
    };
    assert.equal(res.status, 200, `GET /v1/me with the new key: ${JSON.stringify(body)}`);
    assert.equal(body.kind, 'serviceAccount');
    assert.equal(body.name, serviceAccountName);
    assert.ok(
      body.groups?.some((g) => g.name === groupName),
      `groups ${JSON.stringify(body.groups)} include ${groupName}`,
    );
    assert.deepEqual(body.scopes, ['predict']);
  });

  step('after logout, /users sends the visitor to the login page', async () => {
    await page.getByRole('banner').getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await assertVisible(page.getByRole('heading', { name: 'Sign in' }), 'the sign-in page after logout');

    await page.goto('/users');
    await page.waitForURL(/\/login\?next=%2Fusers$/);
    await assertVisible(page.getByRole('heading', { name: 'Sign in' }), 'the sign-in page instead of /users');
    await assertVisible(page.getByLabel('Email', { exact: true }), 'the email field');
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
