import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface S3TestServer {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The same settings as env keys, for loadApiConfig/loadWorkerConfig. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface AzureTestServer {
  connectionString: string;
  /** Not created: the Azure backend creates its container on first use. */
  container: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** s3rver on a free loopback port, with its files in a fresh temp folder and `bucket` created. */
export async function startS3Server(opts: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = opts.bucket ?? 'modelyard-test';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelyard-s3rver-'));
  const server = await launch(
    's3rver',
    (port) => [
      '--directory',
      dir,
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--configure-bucket',
      bucket,
      '--silent',
    ],
    dir,
  );
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    endpoint,
    region: 'us-east-1',
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    env: {
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Azurite's blob service on a free loopback port, in memory (its working folder is a temp folder). With `tls`
 * (a PEM certificate and key) it serves https and takes OAuth bearer tokens as Azure does (`--oauth basic`: it
 * checks the token's audience, issuer and lifetime, not its signature); `accountUrl` is then the https endpoint.
 */
export async function startAzurite(
  opts: { container?: string; tls?: { cert: string; key: string } } = {},
): Promise<AzureTestServer & { accountUrl: string }> {
  const container = opts.container ?? 'modelyard-test';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelyard-azurite-'));
  // --skipApiVersionCheck: the SDK speaks a newer API version than Azurite announces.
  const server = await launch(
    'azurite-blob',
    (port) => [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
      '--silent',
      ...(opts.tls ? ['--oauth', 'basic', '--cert', opts.tls.cert, '--key', opts.tls.key] : []),
    ],
    dir,
  );
  const scheme = opts.tls ? 'https' : 'http';
  const connectionString =
    `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=${scheme}://127.0.0.1:${server.port}/${AZURITE_ACCOUNT};`;
  return {
    accountUrl: `${scheme}://127.0.0.1:${server.port}/${AZURITE_ACCOUNT}`,
    connectionString,
    container,
    env: { AZURE_STORAGE_CONNECTION_STRING: connectionString, AZURE_CONTAINER: container },
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Launched {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a server from node_modules/.bin on a free port and waits until the port accepts connections. The
 * port is picked before the server binds it, so another process can take it in between: then the server
 * exits and we try again on another port.
 */
async function launch(bin: string, args: (port: number) => string[], cwd: string): Promise<Launched> {
  const script = findBin(bin);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [script, ...args(port)], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    // If the test process exits without calling stop() (a crash, a failed before()), take the server with it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const stop = async () => {
      process.off('exit', killOnExit);
      await terminate(child);
    };
    try {
      await waitForPort(port, child, () => stderr, 30_000);
      return { port, stop };
    } catch (err) {
      lastError = err;
      await stop();
    }
  }
  throw lastError;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function findBin(name: string): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', name);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name} is not installed (node_modules/.bin/${name} not found)`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `server exited (${child.exitCode ?? child.signalCode}) before listening on ${port}:\n${stderr()}`,
      );
    }
    const open = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`server did not listen on ${port} within ${timeoutMs} ms:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
