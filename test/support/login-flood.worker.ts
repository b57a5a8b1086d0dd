import { parentPort, workerData } from 'node:worker_threads';
import { RawConnection, rawRequest, type RawAnswer } from './pipelined-http.js';

/**
 * A login flood for floods-logins.sec, in a thread of its own so its sends do not delay the measuring loop:
 * `perSecond` logins a second for `ms`, each a new email from a new address (X-Forwarded-For, which the api
 * trusts from loopback), spread over a few pipelined connections. Posts back the count of each status and
 * the first 429 answer.
 */
const { port, perSecond, ms } = workerData as { port: number; perSecond: number; ms: number };
const conns = await Promise.all(Array.from({ length: 16 }, () => RawConnection.open(port)));
const statuses: Record<string, number> = {};
/** One refusal as it came, for its shape. */
let refusal: RawAnswer | null = null;
const answers: Promise<void>[] = [];
const started = Date.now();
const total = Math.floor((perSecond * ms) / 1000);
let sent = 0;
while (sent < total) {
  const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * perSecond));
  for (; sent < due; sent++) {
    const i = sent;
    const body = JSON.stringify({ email: `flood-${i}-${started}@example.com`, password: `wrong-password-${i}` });
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': ip };
    const request = rawRequest('POST', '/v1/auth/login', headers, body);
    answers.push(
      conns[i % conns.length]!.send(request).then(
        (a) => {
          statuses[a.status] = (statuses[a.status] ?? 0) + 1;
          if (a.status === 429) refusal ??= a;
        },
        () => {
          statuses.error = (statuses.error ?? 0) + 1;
        },
      ),
    );
  }
  await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(answers);
for (const c of conns) c.close();
parentPort!.postMessage({ statuses, refusal });
