import net from 'node:net';

/**
 * A bare HTTP/1.1 client for load tests: one keep-alive socket per RawConnection, requests written as prepared
 * text and pipelined, answers read in order (status and body; our servers always send Content-Length). It costs
 * the test process next to nothing per request, so on a busy box the load reaches the server as sent (fetch
 * spends about a millisecond of CPU per request, which throttled floods to a trickle).
 */
export class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void }[] = [];
  private closed: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => this.onData(b));
    const fail = (e: Error) => {
      this.closed ??= e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  /** Writes one request (see rawRequest); resolves with its answer once every earlier one was read. */
  send(request: string): Promise<RawAnswer> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(request);
    });
  }

  get pending(): number {
    return this.waiting.length;
  }

  close() {
    this.socket.destroy();
  }

  private onData(b: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) {
        this.socket.destroy(new Error(`an answer without Content-Length: ${head}`));
        return;
      }
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
      const body = this.buf.subarray(end + 4, total).toString('utf8');
      this.buf = this.buf.subarray(total);
      this.waiting.shift()?.resolve({ status: Number(head.slice(9, 12)), head, body });
    }
  }
}

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** The text of one request with a Content-Length body (or none). */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

export interface FloodResult {
  statuses: Map<number, number>;
  n: number;
  /** Client-side milliseconds from write to answer, sorted. */
  latencies: number[];
  /** The same, per second of the run (by when the answer came), in order. */
  perSecond: number[][];
}

/**
 * `connections` sockets, each keeping `depth` requests in flight, until `ms` have passed or `max` requests were
 * sent in all.
 */
export async function flood(
  port: number,
  request: (i: number) => string,
  opts: { connections: number; depth: number; ms: number; max: number },
): Promise<FloodResult> {
  const statuses = new Map<number, number>();
  const latencies: number[] = [];
  const perSecond: number[][] = [];
  const started = Date.now();
  const until = started + opts.ms;
  let sent = 0;
  const conns = await Promise.all(Array.from({ length: opts.connections }, () => RawConnection.open(port)));
  await Promise.all(
    conns.map((c) =>
      Promise.all(
        Array.from({ length: opts.depth }, async () => {
          while (Date.now() < until && sent < opts.max) {
            const i = sent++;
            const t = performance.now();
            const a = await c.send(request(i));
            const ms = performance.now() - t;
            latencies.push(ms);
            (perSecond[Math.floor((Date.now() - started) / 1000)] ??= []).push(ms);
            statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          }
        }),
      ),
    ),
  );
  for (const c of conns) c.close();
  latencies.sort((a, b) => a - b);
  for (const s of perSecond) s?.sort((a, b) => a - b);
  return { statuses, n: latencies.length, latencies, perSecond: perSecond.filter((s) => s?.length) };
}
