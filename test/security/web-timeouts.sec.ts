import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { e2eEnv } from '@modelyard/testing';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import { startWeb } from '../support/raw-http.js';

const env = e2eEnv();
const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
/** How long a test waits for the server to hang up before calling it a failure (Node's own defaults are 60 s+). */
const GIVE_UP_MS = 8000;
/** Servers look for expired requests on a timer, and this machine is shared: a cut-off may come a little late. */
const SLACK_MS = 2000;

/**
 * A slow client: connects, then trickles a byte sequence that never completes (headers without the blank line,
 * or a body shorter than its Content-Length), one piece every 200 ms. Resolves with how long the server took to
 * close the connection, or null if it had not after GIVE_UP_MS.
 */
function slowClient(url: string, opening: string, trickle: string): Promise<number | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let timer: NodeJS.Timeout | undefined;
    const done = (v: number | null) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve(v);
    };
    const giveUp = setTimeout(() => done(null), GIVE_UP_MS);
    socket.on('connect', () => {
      socket.write(opening);
      timer = setInterval(() => socket.writable && socket.write(trickle), 200);
    });
    socket.on('error', () => done(Date.now() - started));
    socket.on('close', () => done(Date.now() - started));
    socket.resume();
  });
}

const slowHeaders = (url: string) =>
  slowClient(url, `GET /login HTTP/1.1\r\nHost: ${new URL(url).host}\r\n`, 'X-Slow: a\r\n');
const slowBody = (url: string, path: string) =>
  slowClient(
    url,
    `POST ${path} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
    ' ',
  );

/** Slow-loris: the api and the dashboard cut off clients that never finish a request (issue 22, item 6). */
const timeouts = { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) };

describe('slow clients at the api', () => {
  let api: AppProcess;
  let apiUrl: string;
  before(async () => {
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    api = startApp('api-timeouts', 'api', { API_PORT: String(port), API_HOST: '127.0.0.1', ...timeouts });
    await waitReady(`${apiUrl}/readyz`, api);
  });
  after(async () => {
    await api?.kill();
  });

  it(`hangs up on a client that never finishes its headers within HTTP_HEADERS_TIMEOUT_MS (${HEADERS_MS} ms)`, async () => {
    const ms = await slowHeaders(apiUrl);
    console.log(`api: slow-headers client cut off after ${ms} ms`);
    assert.ok(ms !== null && ms < HEADERS_MS + SLACK_MS, `still connected after ${ms ?? GIVE_UP_MS} ms`);
  });

  it(`hangs up on a body that never completes within HTTP_REQUEST_TIMEOUT_MS (${REQUEST_MS} ms)`, async () => {
    const ms = await slowBody(apiUrl, '/v1/auth/login');
    console.log(`api: slow-body client cut off after ${ms} ms`);
    assert.ok(ms !== null && ms < REQUEST_MS + SLACK_MS, `still connected after ${ms ?? GIVE_UP_MS} ms`);
  });
});

describe('slow clients at the dashboard', () => {
  let web: Awaited<ReturnType<typeof startWeb>>;
  before(async () => {
    web = await startWeb({ API_URL: env.apiUrl, ...timeouts });
  });
  after(async () => {
    await web?.kill();
  });

  it(`hangs up on a client that never finishes its headers within HTTP_HEADERS_TIMEOUT_MS (${HEADERS_MS} ms)`, async () => {
    const ms = await slowHeaders(web.url);
    console.log(`web: slow-headers client cut off after ${ms} ms`);
    assert.ok(ms !== null && ms < HEADERS_MS + SLACK_MS, `still connected after ${ms ?? GIVE_UP_MS} ms`);
  });

  it(`hangs up on a body that never completes within HTTP_REQUEST_TIMEOUT_MS (${REQUEST_MS} ms)`, async () => {
    const ms = await slowBody(web.url, '/api/v1/auth/login');
    console.log(`web: slow-body client cut off after ${ms} ms`);
    assert.ok(ms !== null && ms < REQUEST_MS + SLACK_MS, `still connected after ${ms ?? GIVE_UP_MS} ms`);
  });
});
