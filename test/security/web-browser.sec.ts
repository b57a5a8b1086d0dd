import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { e2eEnv, http } from '@modelyard/testing';
import { launchChromium } from '../support/browser.js';
import { rawRequest } from '../support/raw-http.js';

const env = e2eEnv();
const webUrl = env.webUrl || assert.fail('E2E_WEB_URL is not set: the dashboard was not built');

/** What the dashboard's pages tell browsers about framing, scripts and referrers (issue 22, item 6). */
describe('dashboard page headers', () => {
  it("forbid framing (frame-ancestors 'none', X-Frame-Options) and carry a CSP, nosniff and a Referrer-Policy", async () => {
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    for (const path of ['/login', '/login?next=%2Fmodels', '/', '/models', '/no-such-page']) {
      const res = await rawRequest(webUrl, 'GET', path, { cookie });
      assert.ok(res.status < 500, `${path}: ${res.status}`);
      const csp = String(res.headers['content-security-policy'] ?? '');
      assert.match(csp, /frame-ancestors 'none'/, `${path}: CSP ${csp || '(none)'}`);
      assert.match(csp, /default-src 'self'/, `${path}: CSP ${csp}`);
      assert.match(csp, /object-src 'none'/, `${path}: CSP ${csp}`);
      assert.match(csp, /base-uri 'self'/, `${path}: CSP ${csp}`);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.ok(res.headers['referrer-policy'], `${path}: no Referrer-Policy`);
    }
  });
});

/** After signing in, `?next=` only ever leads to a page of the dashboard itself (issue 22, item 6). */
describe('login redirect (?next=)', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  // Raw query values, as a link in a phishing mail would carry them.
  const hostile = [
    '/%09/evil.example',
    '/%0A/evil.example',
    '//evil.example',
    '/%5Cevil.example',
    '/\\evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    '%2F%2Fevil.example',
    '/%09%09/evil.example/models',
  ];

  it(`lands on / after signing in, for each of ${hostile.length} hostile ?next= values`, async () => {
    const context = await browser.newContext();
    // Nothing may leave 127.0.0.1, even when a redirect tries to.
    const left: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      left.push(url.href);
      return route.abort();
    });
    try {
      const page = await context.newPage();
      for (const next of hostile) {
        // Signed in or not, the login page shows its form; each round signs in again.
        await page.goto(`${webUrl}/login?next=${next}`);
        await page.fill('#login-email', env.adminEmail);
        await page.fill('#login-password', env.adminPassword);
        await page.click('button[type=submit]');
        await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15_000 }).catch(() => {});
        // Time for a navigation that follows the first one (a client-side redirect) to start.
        await page.waitForTimeout(300);
        assert.deepEqual(left, [], `?next=${next}: the browser tried to leave the dashboard: ${left.join(', ')}`);
        assert.equal(page.url(), `${webUrl}/`, `?next=${next}`);
      }
    } finally {
      await context.close();
    }
  });
});
