import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it, type TestContext } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { http, uniqueId } from '@modelyard/testing';

/** What the e2e harness sets after starting api, worker and web. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (the e2e harness sets it after starting api, worker and web)`);
  return value;
}

/** Where a browser story finds the running platform: the dashboard, the api and the seeded admin's API key. */
export function storyEnv() {
  const apiUrl = requiredEnv('E2E_API_URL').replace(/\/+$/, '');
  const adminKey = requiredEnv('E2E_ADMIN_API_KEY');
  return {
    webUrl: requiredEnv('E2E_WEB_URL').replace(/\/+$/, ''),
    apiUrl,
    adminKey,
    /** A JSON call to the api as the seeded admin (status, headers, parsed body, text). */
    adminApi: (method: string, p: string, body?: unknown) => http(apiUrl, method, p, { token: adminKey, body }),
  };
}

/** A dashboard user of `role` to create through the api and log in as: unique name, e-mail and password. */
export function person(role: string) {
  const name = uniqueId(role.slice(0, 4));
  return { email: `${name}@test.modelyard.local`, name, password: `${role}-pw-${name}`, role };
}

/** test/e2e/screenshots, whether this runs as test/e2e/*.ts or compiled to test/dist/...; E2E_SCREENSHOT_DIR wins. */
export function screenshotDir(): string {
  if (process.env.E2E_SCREENSHOT_DIR) return process.env.E2E_SCREENSHOT_DIR;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (path.basename(dir) !== 'test') {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('test/e2e/screenshots');
    dir = parent;
  }
  return path.join(dir, 'e2e', 'screenshots');
}

/**
 * Debian's Chromium, headless. As root it needs --no-sandbox; the background-networking flags stop it from
 * calling out of this machine's closed network at every start (see ../shared/docs/STACK-NOTES.md).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.E2E_CHROMIUM_PATH || '/usr/lib/chromium/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Waits until the element is visible, then asserts it, so a failure names what the page did not show. */
export async function assertVisible(locator: Locator, what: string, timeout?: number): Promise<void> {
  try {
    await locator.waitFor({ state: 'visible', timeout });
  } catch (e) {
    assert.fail(`expected the page to show ${what}: ${(e as Error).message.split('\n')[0]}`);
  }
  assert.ok(await locator.isVisible(), `expected the page to show ${what}`);
}

export async function assertText(locator: Locator, expected: string | RegExp, what: string): Promise<void> {
  await assertVisible(locator, what);
  const text = (await locator.innerText()).trim();
  if (typeof expected === 'string') assert.equal(text, expected, what);
  else assert.match(text, expected, what);
}

/**
 * Steps of one browser story, in order: each builds on the previous one, so after a failure the remaining
 * steps are skipped instead of failing with confusing follow-up errors. A failing step leaves a screenshot
 * (`failure-<prefix><step>.png`) and the browser console errors behind.
 */
export function storySteps(opts: { page: () => Page; prefix?: string; consoleErrors: string[] }) {
  let brokenAt: string | null = null;
  return function step(name: string, fn: () => Promise<void>): void {
    it(name, async (t: TestContext) => {
      if (brokenAt) {
        t.skip(`an earlier step failed: ${brokenAt}`);
        return;
      }
      try {
        await fn();
      } catch (e) {
        brokenAt = name;
        const file = `failure-${opts.prefix ?? ''}${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
        await opts
          .page()
          .screenshot({ path: path.join(screenshotDir(), file), fullPage: true })
          .catch(() => {});
        if (opts.consoleErrors.length) t.diagnostic(`browser console errors:\n${opts.consoleErrors.join('\n')}`);
        throw e;
      }
    });
  };
}

/**
 * The page every dashboard story runs in: Chromium at 1280x800 against the web app, a 15 s default timeout,
 * and uncaught page errors and console errors collected into the given arrays for the story's assertions.
 */
export async function openDashboardPage(webUrl: string, pageErrors: string[], consoleErrors: string[]) {
  await mkdir(screenshotDir(), { recursive: true });
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: webUrl });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  return { browser, context, page };
}
