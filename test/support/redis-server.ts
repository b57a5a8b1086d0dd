import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Started {
  url: string;
  pid: number;
  stop(): Promise<void>;
}
type StartRedis = (o: { dir: string; port: number }) => Promise<Started>;
const { startRedis } = (await import(pathToFileURL(path.resolve('scripts/services.mjs')).href)) as {
  startRedis: StartRedis;
};

/**
 * A Redis of a test's own (the platform's is shared by every other test), started exactly as `npm start` starts
 * its embedded one (persistent: AOF, fsync every second), in a folder that survives a stop, on a fixed port.
 */
export class OwnRedis {
  private server: Started | null = null;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-own-redis-'));
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    this.server = await startRedis({ dir: this.dir, port: this.port });
  }

  /** SIGTERM (a clean stop: the AOF is flushed) or SIGKILL (a crash: up to a second of writes may be lost). */
  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    const s = this.server;
    this.server = null;
    if (!s) return;
    if (signal === 'SIGTERM') return s.stop();
    try {
      process.kill(s.pid, signal);
    } catch {
      /* already gone */
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(s.pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
