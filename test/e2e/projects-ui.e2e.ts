/**
 * Projects in the dashboard, in a real browser, against the running api + worker + web.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, E2E_ADMIN_API_KEY, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD (set by the harness).
 *
 * One story: the admin makes projects A and B over the API, a model in each, a user who is scientist in A and viewer
 * in B (and has no role in `default`), and an admin of A. The user picks A in the project switcher and sees A's
 * model only, registers a model there from the browser (the upload and its validation go to A), switches to B and
 * sees B's model only and no settings controls. A's admin adds, re-roles and removes a member on the settings
 * page (each checked in the API). The platform admin creates, edits and deletes a project on the Projects page.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import {
  assertText,
  assertVisible,
  openDashboardPage,
  person,
  requiredEnv,
  storyEnv,
  storySteps,
} from '../support/browser.js';

const { webUrl, adminApi } = storyEnv();
const admin = { email: requiredEnv('E2E_ADMIN_EMAIL'), password: requiredEnv('E2E_ADMIN_PASSWORD') };
const modelFile = path.resolve('test/fixtures/models/iris_logreg/model.onnx');

const suffix = randomBytes(4).toString('hex');
const A = `pa-${suffix}`;
const B = `pb-${suffix}`;
const C = `pc-${suffix}`;
const modelA = `ma-${suffix}`;
const modelB = `mb-${suffix}`;
const uploaded = `up-${suffix}`;
const user = person('scientist');
const teamAdmin = person('admin');
const newcomer = person('viewer');
const ids: Record<string, string> = {};

describe('projects in the dashboard', { timeout: 240_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const step = storySteps({ page: () => page, prefix: 'projects-', consoleErrors });

  /** Signs in on a fresh session (cookies cleared) and waits for the page the login lands on. */
  async function signIn(who: { email: string; password: string }, next = '/'): Promise<void> {
    await context.clearCookies();
    await page.goto(`/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email', { exact: true }).fill(who.email);
    await page.getByLabel('Password', { exact: true }).fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}${next}`);
  }

  const banner = () => page.getByRole('banner');
  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const switcher = () => banner().getByLabel('Project', { exact: true });
  const modelsTable = () => page.getByRole('table', { name: 'Models' });
  const memberRow = (name: string): Locator =>
    page
      .getByRole('table', { name: 'Members' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  const grantsOf = async (project: string) => {
    const r = await adminApi('GET', `/v1/projects/${project}/grants`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as { kind: string; id: string; name: string; role: string }[];
  };

  before(async () => {
    ({ browser, context, page } = await openDashboardPage(webUrl, pageErrors, consoleErrors));
  });
  after(async () => {
    await browser?.close();
  });

  step(
    'the admin makes projects A and B, a model in each, and grants the user scientist in A, viewer in B',
    async () => {
      for (const name of [A, B]) {
        const p = await adminApi('POST', '/v1/projects', { name, description: `project ${name}` });
        assert.equal(p.status, 201, JSON.stringify(p.json));
      }
      for (const [project, model] of [
        [A, modelA],
        [B, modelB],
      ] as const) {
        const m = await adminApi('POST', `/v1/projects/${project}/models`, {
          name: model,
          description: `in ${project}`,
        });
        assert.equal(m.status, 201, JSON.stringify(m.json));
      }
      for (const u of [user, teamAdmin, newcomer]) {
        const r = await adminApi('POST', '/v1/users', { ...u, role: 'viewer' });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        ids[u.email] = r.json.id;
        // Creating a user gives it its role in `default`; these people belong to A and B only.
        assert.equal((await adminApi('DELETE', `/v1/project/grants/user/${r.json.id}`)).status, 204);
      }
      const grant = async (project: string, email: string, role: string) => {
        const r = await adminApi('PUT', `/v1/projects/${project}/grants`, { kind: 'user', id: ids[email], role });
        assert.equal(r.status, 200, JSON.stringify(r.json));
      };
      await grant(A, user.email, 'scientist');
      await grant(B, user.email, 'viewer');
      await grant(A, teamAdmin.email, 'admin');
    },
  );

  step('the user, with no role in default, lands on a page naming their projects', async () => {
    await signIn(user);
    await assertVisible(page.getByRole('heading', { name: 'No access to project default' }), 'the no-access page');
    const main = page.getByRole('main');
    await assertVisible(main.getByRole('link', { name: A, exact: true }), `a link to ${A}`);
    await assertVisible(main.getByRole('link', { name: B, exact: true }), `a link to ${B}`);
    const options = await switcher().locator('option').allTextContents();
    assert.deepEqual(options.filter((o) => o === A || o === B).sort(), [A, B], 'the switcher offers A and B');
  });

  step("in A the user sees only A's model, as scientist, at /projects/A URLs", async () => {
    await switcher().selectOption(A);
    await page.waitForURL(`${webUrl}/projects/${A}`);
    await assertText(banner().locator('.badge'), 'scientist', 'the role in A');
    await nav().getByRole('link', { name: 'Models', exact: true }).click();
    await page.waitForURL(`${webUrl}/projects/${A}/models`);
    await assertVisible(modelsTable().getByRole('link', { name: modelA, exact: true }), `${modelA} listed`);
    assert.equal(await modelsTable().getByRole('link', { name: modelB, exact: true }).count(), 0, `no ${modelB}`);
    await modelsTable().getByRole('link', { name: modelA, exact: true }).click();
    await page.waitForURL(`${webUrl}/projects/${A}/models/${modelA}`);
    await assertVisible(page.getByRole('heading', { level: 1, name: modelA, exact: true }), `the page of ${modelA}`);
  });

  step('a model the user registers from the browser in A is uploaded, validated and stored in A', async () => {
    await nav().getByRole('link', { name: 'Models', exact: true }).click();
    await page.waitForURL(`${webUrl}/projects/${A}/models`);
    await page.getByRole('button', { name: 'Register a model' }).click();
    const form = page.locator('#register-model');
    await form.getByLabel('Model name', { exact: true }).fill(uploaded);
    await form.getByLabel('ONNX file', { exact: true }).setInputFiles(modelFile);
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/versions'));
    await form.getByRole('button', { name: 'Upload and register' }).click();
    const res = await answered;
    assert.equal(res.url(), `${webUrl}/api/projects/${A}/v1/models/${uploaded}/versions`, 'the upload went to A');
    assert.equal(res.status(), 202, await res.text());
    // The worker validates within a second or two; allow for a slow machine.
    await assertVisible(form.getByRole('status').getByText(`Version 1 of ${uploaded} is`), 'a final status', 30_000);
    await assertText(
      form.getByRole('status'),
      new RegExp(`Version 1 of ${uploaded} is\\s*ready`),
      'the version validated',
    );
    const inA = await adminApi('GET', `/v1/projects/${A}/models/${uploaded}/versions/1`);
    assert.equal(inA.status, 200, JSON.stringify(inA.json));
    assert.equal(inA.json.status, 'ready');
    assert.equal((await adminApi('GET', `/v1/models/${uploaded}`)).status, 404, 'nothing of that name in default');
  });

  step("switched to B, the user sees only B's model, as viewer, and no settings controls", async () => {
    await switcher().selectOption(B);
    // The switcher keeps the section: from A's models to B's.
    await page.waitForURL(`${webUrl}/projects/${B}/models`);
    await assertText(banner().locator('.badge'), 'viewer', 'the role in B');
    await assertVisible(modelsTable().getByRole('link', { name: modelB, exact: true }), `${modelB} listed`);
    for (const other of [modelA, uploaded]) {
      assert.equal(await modelsTable().getByRole('link', { name: other, exact: true }).count(), 0, `no ${other}`);
    }
    assert.equal(await page.getByRole('button', { name: 'Register a model' }).count(), 0, 'a viewer registers none');

    await nav().getByRole('link', { name: 'Project settings', exact: true }).click();
    await page.waitForURL(`${webUrl}/projects/${B}/settings`);
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Project settings' }), 'the settings page');
    await assertVisible(page.getByRole('main').getByText(B, { exact: true }).first(), "B's name");
    await assertVisible(page.getByText("Only the project's admins see who has which role in it."), 'the note');
    for (const control of ['Add member', 'Save description', 'Save role', 'Remove']) {
      assert.equal(await page.getByRole('button', { name: control }).count(), 0, `no "${control}" button`);
    }
    assert.equal(await page.getByRole('table', { name: 'Members' }).count(), 0, 'no members list');
    for (const adminPage of ['Projects', 'Users', 'Webhooks', 'Audit log']) {
      assert.equal(await nav().getByRole('link', { name: adminPage, exact: true }).count(), 0, `no ${adminPage}`);
    }
  });

  step("A's admin adds a member by e-mail, changes the role and removes it, each in the API", async () => {
    await signIn(teamAdmin, `/projects/${A}/settings`);
    await assertVisible(memberRow(user.name), 'the scientist among the members');
    await assertText(memberRow(user.name).locator('.badge'), 'scientist', "the scientist's role");

    const form = page.getByRole('form', { name: 'Add a member' });
    await form.getByLabel("User's email", { exact: true }).fill(newcomer.email);
    await form.getByLabel('Role', { exact: true }).selectOption('viewer');
    await form.getByRole('button', { name: 'Add member' }).click();
    await assertVisible(memberRow(newcomer.name), 'the new member in the list');
    let g = (await grantsOf(A)).find((x) => x.id === ids[newcomer.email]);
    assert.deepEqual(g && { kind: g.kind, role: g.role }, { kind: 'user', role: 'viewer' }, 'the grant in the API');

    const row = memberRow(newcomer.name);
    await row.getByLabel(`Role of ${newcomer.name}`, { exact: true }).selectOption('approver');
    await row.getByRole('button', { name: 'Save role' }).click();
    await assertVisible(memberRow(newcomer.name).locator('.badge-role-approver'), 'the new role in the list');
    g = (await grantsOf(A)).find((x) => x.id === ids[newcomer.email]);
    assert.equal(g?.role, 'approver', 'the new role in the API');

    await memberRow(newcomer.name)
      .getByRole('button', { name: `Remove ${newcomer.name} from the project` })
      .click();
    await memberRow(newcomer.name)
      .getByRole('button', { name: `Remove ${newcomer.name}`, exact: true })
      .click();
    await memberRow(newcomer.name).waitFor({ state: 'detached' });
    assert.equal(
      (await grantsOf(A)).find((x) => x.id === ids[newcomer.email]),
      undefined,
      'no grant in the API',
    );
  });

  step('the platform admin creates a project, sets its description and quotas, and deletes it', async () => {
    await signIn(admin, '/projects');
    await assertVisible(page.getByRole('heading', { level: 1, name: 'Projects' }), 'the Projects page');
    const create = page.getByRole('form', { name: 'Create project' });
    await create.getByLabel('Name', { exact: true }).fill(C);
    await create.getByLabel('Model versions', { exact: true }).fill('3');
    await create.getByRole('button', { name: 'Create project' }).click();
    const row = page
      .getByRole('table', { name: 'Projects' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: C, exact: true }) });
    await assertVisible(row, `${C} listed`);
    await assertVisible(row.getByText('Model versions: 3'), 'its versions quota');

    await row.locator('summary', { hasText: 'Edit' }).click();
    const edit = page.getByRole('form', { name: `Edit project ${C}` });
    await edit.getByLabel('Description', { exact: true }).fill('Team C');
    await edit.getByLabel('Model versions', { exact: true }).fill('');
    await edit.getByLabel('Concurrent jobs', { exact: true }).fill('2');
    await edit.getByRole('button', { name: 'Save' }).click();
    await assertVisible(row.getByText('Concurrent jobs: 2'), 'the new jobs quota');
    const p = await adminApi('GET', `/v1/projects/${C}`);
    assert.equal(p.json.description, 'Team C');
    assert.deepEqual(p.json.quotas, {
      maxVersions: null,
      maxStoredBytes: null,
      maxRequestsPerSecond: null,
      maxConcurrentJobs: 2,
    });

    // A project with models cannot go: the API's message is shown.
    const rowA = page
      .getByRole('table', { name: 'Projects' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: A, exact: true }) });
    await rowA.getByRole('button', { name: `Delete project ${A}` }).click();
    await rowA.getByRole('button', { name: `Delete ${A}`, exact: true }).click();
    await assertText(rowA.getByRole('alert'), /still has 2 model/, 'the refusal');

    await row.getByRole('button', { name: `Delete project ${C}` }).click();
    await row.getByRole('button', { name: `Delete ${C}`, exact: true }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await adminApi('GET', `/v1/projects/${C}`)).status, 404, 'the project is gone');
  });

  step('raised no uncaught errors in the page', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
