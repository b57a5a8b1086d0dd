import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo, type LookupFunction } from 'node:net';
import { OutboundClient, urlShapeProblem } from './outbound-http.js';

/** A local HTTP listener that counts TCP connections (not only requests) and answers `status`. */
async function listener(host: string, answer: (res: import('node:http').ServerResponse) => void) {
  const seen = { connections: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    seen.requests++;
    req.resume();
    req.on('end', () => answer(res));
  });
  server.on('connection', () => {
    seen.connections++;
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { seen, server, port: (server.address() as AddressInfo).port };
}

/** A resolver that gives each lookup the next answer in `answers`: what a rebinding DNS server does. */
function scriptedResolver(answers: string[][]) {
  const asked: string[] = [];
  const fn = ((hostname: string, _opts: unknown, cb: (e: Error | null, a: LookupAddress[]) => void) => {
    asked.push(hostname);
    const next = answers[Math.min(asked.length - 1, answers.length - 1)]!;
    setImmediate(() =>
      cb(
        null,
        next.map((address) => ({ address, family: net.isIP(address) })),
      ),
    );
  }) as unknown as LookupFunction;
  return { fn, asked };
}

const body = { headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2000 };

describe('OutboundClient', () => {
  let ok: Awaited<ReturnType<typeof listener>>;
  let other: Awaited<ReturnType<typeof listener>>;
  before(async () => {
    ok = await listener('127.0.0.1', (res) => {
      res.statusCode = 204;
      res.end();
    });
    // Linux routes all of 127/8 to loopback: 127.0.0.2 stands in for an allowed on-prem receiver.
    other = await listener('127.0.0.2', (res) => {
      res.statusCode = 200;
      res.end('fine');
    });
  });
  after(async () => {
    await new Promise((r) => ok.server.close(r));
    await new Promise((r) => other.server.close(r));
  });

  it('refuses loopback by default without opening a connection', async () => {
    const before = ok.seen.connections;
    const client = new OutboundClient([]);
    for (const url of [
      `http://127.0.0.1:${ok.port}/x`,
      `http://localhost:${ok.port}/x`,
      `http://[::ffff:127.0.0.1]:${ok.port}/`,
      `http://127.1:${ok.port}/`,
      `http://2130706433:${ok.port}/`,
      `http://0x7f000001:${ok.port}/`,
    ]) {
      assert.deepEqual(
        await client.post(url, body),
        { outcome: 'refused', reason: 'the target address is not allowed' },
        url,
      );
    }
    assert.equal(ok.seen.connections, before);
  });

  it('reaches a receiver the operator allowed, and reports only its status', async () => {
    const client = new OutboundClient([`127.0.0.1:${ok.port}`]);
    assert.deepEqual(await client.post(`http://127.0.0.1:${ok.port}/hook`, body), { outcome: 'answered', status: 204 });
    assert.equal(ok.seen.requests > 0, true);
    // Another port on the same address is not on the list.
    assert.equal((await client.post(`http://127.0.0.1:${other.port}/hook`, body)).outcome, 'refused');
  });

  it('checks every address a name resolves to: a rebinding answer is refused before connecting', async () => {
    const dns = scriptedResolver([['127.0.0.2'], ['127.0.0.1']]);
    const client = new OutboundClient(['127.0.0.2'], dns.fn);
    const port = other.port;
    const started = { other: other.seen.connections, ok: ok.seen.connections };
    // Same port on both addresses is not needed: the refused one must not be connected at all.
    assert.deepEqual(await client.post(`http://receiver.example:${port}/`, body), { outcome: 'answered', status: 200 });
    assert.equal(other.seen.connections, started.other + 1);
    assert.deepEqual(await client.post(`http://receiver.example:${ok.port}/`, body), {
      outcome: 'refused',
      reason: 'the target address is not allowed',
    });
    assert.equal(ok.seen.connections, started.ok);
    assert.deepEqual(dns.asked, ['receiver.example', 'receiver.example']);
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const dns = scriptedResolver([['127.0.0.2', '127.0.0.1']]);
    const client = new OutboundClient(['127.0.0.2'], dns.fn);
    const started = { other: other.seen.connections, ok: ok.seen.connections };
    assert.equal((await client.post(`http://many.example:${other.port}/`, body)).outcome, 'refused');
    assert.deepEqual({ other: other.seen.connections, ok: ok.seen.connections }, started);
  });

  it('does not follow redirects and never reads the body', async () => {
    const redirect = await listener('127.0.0.1', (res) => {
      res.writeHead(302, { location: `http://127.0.0.2:${other.port}/` }).end('x'.repeat(1 << 20));
    });
    try {
      const before = other.seen.connections;
      const client = new OutboundClient(['127.0.0.0/8']);
      assert.deepEqual(await client.post(`http://127.0.0.1:${redirect.port}/`, body), {
        outcome: 'answered',
        status: 302,
      });
      assert.equal(other.seen.connections, before);
    } finally {
      await new Promise((r) => redirect.server.close(r));
    }
  });

  it('says "timed out" or "connection failed", never the network error', async () => {
    const silent = net.createServer(() => {
      /* accepts and never answers */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const closedPort = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    try {
      const client = new OutboundClient(['127.0.0.1']);
      const port = (silent.address() as AddressInfo).port;
      assert.deepEqual(await client.post(`http://127.0.0.1:${port}/`, { ...body, timeoutMs: 300 }), {
        outcome: 'failed',
        reason: 'timed out',
      });
      assert.deepEqual(await client.post(`http://127.0.0.1:${closedPort}/`, body), {
        outcome: 'failed',
        reason: 'connection failed',
      });
    } finally {
      silent.close();
    }
  });

  it('names literal refused addresses up front, and leaves names to connect time', () => {
    const client = new OutboundClient(['10.1.0.0/16']);
    assert.match(client.literalRefusal('http://169.254.169.254/latest')!, /link-local/);
    assert.match(client.literalRefusal('http://[::1]:80/')!, /loopback/);
    assert.match(client.literalRefusal('http://0x7f000001/')!, /loopback/);
    assert.equal(client.literalRefusal('http://10.1.2.3/'), null);
    assert.equal(client.literalRefusal('http://localhost/'), null);
    assert.equal(client.literalRefusal('https://8.8.8.8/'), null);
  });

  it('refuses URLs of the wrong shape', () => {
    assert.equal(urlShapeProblem('ftp://x.example/'), 'must be an http or https URL');
    assert.equal(urlShapeProblem('http://user:pw@x.example/'), 'must not carry credentials');
    assert.equal(urlShapeProblem('nope'), 'is not a URL');
    assert.equal(urlShapeProblem('https://hooks.example/a?b=c'), null);
  });
});
