import { z } from 'zod';

/** Raised at boot when the environment is wrong; lists every bad key at once so one restart fixes them all. */
export class ConfigError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);
const bytes = z.coerce.number().int().min(1024);

const common = {
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FILE: z.string().optional(),
  LOG_PRETTY: bool.default(false),
  /** Prefix of every Redis key and queue, so tests and several installs can share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[a-zA-Z0-9:_-]+$/).default('modelyard'),
};

const apiEnv = z.object({
  ...common,
  API_PORT: port.default(8080),
  API_HOST: z.string().default('0.0.0.0'),
  SESSION_SECRET: z.string().min(32, 'at least 32 characters'),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(24 * 7),
  COOKIE_SECURE: bool.default(false),
  MAX_BODY_BYTES: bytes.default(1024 * 1024),
  LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(300),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).default(60),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * Which peers may set X-Forwarded-For (Fastify/proxy-addr syntax: true, false, or a comma list of addresses,
   * CIDRs and the names loopback/linklocal/uniquelocal). Loopback by default: the dashboard proxies the browser's
   * calls from the same box, and only a local process can connect from there.
   */
  TRUST_PROXY: z.string().default('loopback').transform((v) => (v === 'true' ? true : v === 'false' ? false : v)),
});

const workerEnv = z.object({
  ...common,
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  SESSION_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
});

const seedEnv = z.object({
  DATABASE_URL: common.DATABASE_URL,
  MODELYARD_ADMIN_EMAIL: z.string().email().optional(),
  MODELYARD_ADMIN_PASSWORD: z.string().min(10, 'at least 10 characters').optional(),
  MODELYARD_ADMIN_API_KEY: z.string().min(32, 'at least 32 characters').optional(),
});

function parse<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  // Empty strings mean "unset": a `FOO=` line in a compose file should fall back to the default, not fail.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => ({ key: i.path.join('.') || '(root)', message: i.message })));
  }
  return r.data;
}

function shared(e: z.output<typeof apiEnv> | z.output<typeof workerEnv>) {
  return {
    db: { url: e.DATABASE_URL },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    log: { level: e.LOG_LEVEL, file: e.LOG_FILE, pretty: e.LOG_PRETTY },
  };
}

export function loadApiConfig(env: Record<string, string | undefined> = process.env) {
  const e = parse(apiEnv, env);
  return {
    ...shared(e),
    http: {
      port: e.API_PORT, host: e.API_HOST, maxBodyBytes: e.MAX_BODY_BYTES,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS, trustProxy: e.TRUST_PROXY,
    },
    auth: {
      sessionSecret: e.SESSION_SECRET, sessionTtlHours: e.SESSION_TTL_HOURS, cookieSecure: e.COOKIE_SECURE,
      loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS, loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
      apiKeyCacheSeconds: e.API_KEY_CACHE_SECONDS,
    },
  };
}
export type ApiConfig = ReturnType<typeof loadApiConfig>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env) {
  const e = parse(workerEnv, env);
  return {
    ...shared(e),
    worker: { concurrency: e.WORKER_CONCURRENCY, sessionRetentionDays: e.SESSION_RETENTION_DAYS },
  };
}
export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;

export function loadSeedConfig(env: Record<string, string | undefined> = process.env) {
  const e = parse(seedEnv, env);
  return {
    db: { url: e.DATABASE_URL },
    admin: { email: e.MODELYARD_ADMIN_EMAIL, password: e.MODELYARD_ADMIN_PASSWORD, apiKey: e.MODELYARD_ADMIN_API_KEY },
  };
}
export type SeedConfig = ReturnType<typeof loadSeedConfig>;

/** The pieces every server process needs, whatever app it is. */
export type CommonConfig = ReturnType<typeof shared>;
