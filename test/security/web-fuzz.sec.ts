import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { e2eEnv, http } from '@modelyard/testing';
import { HOSTILE_SEGMENTS, sendAll } from '../support/hostile-input.js';
import { rawRequest } from '../support/raw-http.js';

/**
 * Hostile links into the dashboard, signed in as an admin: every page of `apps/web/app` (found on disk, so a new
 * page is covered the day it lands) with hostile values in its dynamic segments (too long, percent-encoded NULs,
 * broken UTF-8, dot segments, prototype keys) and junk query strings. A page may answer 200 with an error shown,
 * 404 or 400, never a 5xx: a server-rendered page that throws on what the API refused is a 500 anyone can link to.
 */
const env = e2eEnv();
const webUrl = env.webUrl || assert.fail('E2E_WEB_URL is not set: the dashboard was not built');

const SEGMENTS = [...HOSTILE_SEGMENTS, 'fuzz-absent-0'];

const QUERIES = [
  'version=abc&page=-1&range=%ZZ&window=1e400&since=-1&tab=__proto__',
  'version=99999999999999999999&limit=1e9&status=%00&stage=%E0%A4%A',
  '__proto__[admin]=true&constructor[prototype][x]=1&version=1&version=2',
  `q=${'%FF'.repeat(50)}&model=${'m'.repeat(3000)}&next=%2F%2Fevil.example`,
];

/** The dashboard's page routes, as URL templates: `/models/[name]/drift`, route groups `(app)` left out. */
function pageRoutes(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && e.name === 'page.tsx') out.push(prefix || '/');
    if (!e.isDirectory() || e.name === 'api') continue;
    const segment = /^\(.*\)$/.test(e.name) ? '' : `/${e.name}`;
    out.push(...pageRoutes(path.join(dir, e.name), prefix + segment));
  }
  return out;
}

describe('dashboard fuzz: hostile links into every page', () => {
  let cookie: string;
  const routes = pageRoutes(path.resolve('apps/web/app'));

  before(async () => {
    const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    assert.equal(login.status, 200, login.text);
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  });

  it('renders every page for every hostile segment and query string without a 5xx', async (t) => {
    assert.ok(routes.length >= 20 && routes.includes('/models/[name]/drift'), `pages found: ${routes.join(' ')}`);
    const paths: string[] = [];
    for (const route of routes) {
      const dynamic = /\[[^\]]+\]/.test(route);
      const fill = (v: string) => route.replace(/\[[^\]]+\]/g, v);
      for (const v of dynamic ? SEGMENTS : []) paths.push(fill(v));
      for (const q of QUERIES) paths.push(`${fill('fuzz-absent-0')}?${q}`);
    }
    const { failures, statuses } = await sendAll(
      paths,
      4,
      (p) => rawRequest(webUrl, 'GET', p, { cookie }),
      (_p, res) => (res.status >= 500 ? String(res.status) : null),
      (p) => p.slice(0, 160),
    );
    t.diagnostic(`${routes.length} pages, ${paths.length} links, statuses ${JSON.stringify(statuses)}`);
    assert.deepEqual(failures, [], `${failures.length} of ${paths.length} links failed`);
    const home = await rawRequest(webUrl, 'GET', '/', { cookie });
    assert.equal(home.status, 200, 'the dashboard still serves its overview');
  });
});
