import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from './test-support.js';

interface Line {
  msg: string;
  reqId?: string;
  audit?: { action: string; objectId: string };
  [k: string]: unknown;
}

describe('api log lines carry the request they serve', () => {
  let t: TestApp;
  let dir: string;
  let file: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-reqlog-'));
    file = path.join(dir, 'api.log');
    t = await startTestApp({ LOG_LEVEL: 'info', LOG_FILE: file });
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The log file's lines, once `enough` says they are all there (the destination is asynchronous). */
  async function linesUntil(enough: (lines: Line[]) => boolean): Promise<Line[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const lines = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
      if (enough(lines) || Date.now() > deadline) return lines;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("a service's line written while serving a request has that request's id, also for requests served at once", async () => {
    const ids = [0, 1, 2].map((i) => `logctx-${i}-${Math.random().toString(36).slice(2, 10)}`);
    const created = await Promise.all(
      ids.map((id) =>
        t.request('POST', '/v1/service-accounts', {
          token: t.adminKey,
          headers: { 'x-request-id': id },
          body: { name: `${id}-sa`, role: 'viewer' },
        }),
      ),
    );
    created.forEach((r, i) => {
      assert.equal(r.status, 201, r.body);
      assert.equal(r.headers['x-request-id'], ids[i], 'the answer names the id the lines carry');
    });
    const lines = await linesUntil(
      (ls) => ls.filter((l) => l.msg === 'request' && ids.includes(l.reqId!)).length === 3,
    );
    created.forEach((r, i) => {
      // AuditService logs the event; nothing hands it the request id but the log context.
      const audit = lines.find((l) => l.msg === 'audit' && l.audit?.objectId === r.json.id);
      assert.ok(audit, `no audit line for ${r.json.id}`);
      assert.equal(audit.reqId, ids[i]);
      const access = lines.find((l) => l.msg === 'request' && l.reqId === ids[i]);
      assert.ok(access, 'the access line has the same id');
    });
  });

  it('a caller without an X-Request-Id gets a fresh id, the same one on the answer and on the lines', async () => {
    const r = await t.request('POST', '/v1/service-accounts', {
      token: t.adminKey,
      body: { name: `logctx-fresh-${Math.random().toString(36).slice(2, 10)}`, role: 'viewer' },
    });
    assert.equal(r.status, 201, r.body);
    const id = String(r.headers['x-request-id']);
    assert.match(id, /^[0-9a-f-]{36}$/);
    const lines = await linesUntil((ls) => ls.some((l) => l.audit?.objectId === r.json.id));
    assert.equal(lines.find((l) => l.msg === 'audit' && l.audit?.objectId === r.json.id)?.reqId, id);
  });

  it('lines written outside any request carry no request id', async () => {
    const lines = await linesUntil(() => true);
    // Boot lines ("serving warm") and anything after a request's answer (none of this test's) have no context.
    const boot = lines.filter((l) => !l.reqId);
    assert.ok(boot.length > 0, 'boot lines exist');
    assert.ok(boot.every((l) => l.msg !== 'request' && l.msg !== 'audit'));
  });
});
