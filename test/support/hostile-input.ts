import type { RawResponse } from './raw-http.js';

/**
 * Values for one path segment (a model name, a version, an id), raw as they go on the wire: too long, percent-encoded
 * NULs, broken UTF-8, dot segments, numbers out of range, prototype keys, SQL. The security fuzzes of the api
 * (management-fuzz) and of the dashboard's pages (web-fuzz) send each of them.
 */
export const HOSTILE_SEGMENTS = [
  'a'.repeat(3000),
  '%00',
  'x%00y',
  '..%2F..%2Fetc%2Fpasswd',
  '%E0%A4%A',
  '%FF%FE',
  '-1',
  '0',
  '99999999999999999999999',
  '1e400',
  '0x10',
  '%F0%9F%98%80',
  '__proto__',
  'constructor',
  '%20',
  "'%20OR%201%3D1--",
  '%25',
];

/**
 * Sends every request `lanes` at a time and tallies the statuses; `judge` names what is wrong with an answer (or
 * returns null), and a request that got no answer at all is wrong too. Both fuzzes report what it returns.
 */
export async function sendAll<R>(
  requests: R[],
  lanes: number,
  send: (r: R) => Promise<RawResponse>,
  judge: (r: R, res: RawResponse) => string | null,
  name: (r: R) => string,
): Promise<{ failures: string[]; statuses: Record<number, number> }> {
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < requests.length) {
      const r = requests[next++]!;
      try {
        const res = await send(r);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const wrong = judge(r, res);
        if (wrong) failures.push(`${name(r)} -> ${wrong}`);
      } catch (e) {
        failures.push(`${name(r)}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { failures, statuses };
}
