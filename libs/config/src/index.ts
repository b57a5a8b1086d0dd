import { availableParallelism } from 'node:os';
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

/**
 * Artifact storage, shared by api (uploads, downloads) and worker (validation). Only the default backend is
 * required; another one is available when its keys are set, so a version registered on S3 stays readable after
 * the default moves to Azure. Credentials live here and nowhere else: never in the database, never in logs.
 */
const storageEnv = {
  STORAGE_DEFAULT: z.enum(['local', 's3', 'azure']).default('local'),
  /** Relative paths resolve against the process's working directory. */
  STORAGE_LOCAL_ROOT: z.string().default('.data/artifacts'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().default('us-east-1'),
  // Loose on purpose: S3-compatible servers accept names AWS would not (uppercase, underscores).
  S3_BUCKET: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'must be a bucket name (letters, digits, . _ -)')
    .optional(),
  /**
   * Static keys, both or neither. Without them the AWS SDK's default credential chain signs the requests: the
   * AWS_* variables, a web identity token (EKS IRSA), EKS Pod Identity, ECS or instance roles, profiles.
   */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** MinIO, Ceph and s3rver want path-style URLs (http://host/bucket/key); AWS prefers virtual hosts. */
  S3_FORCE_PATH_STYLE: bool.default(false),
  AZURE_STORAGE_CONNECTION_STRING: z.string().optional(),
  /**
   * The account's blob endpoint (https://<account>.blob.core.windows.net) instead of a connection string: requests
   * then carry a token from Azure's DefaultAzureCredential (workload identity, managed identity, AZURE_* variables).
   */
  AZURE_STORAGE_ACCOUNT_URL: z.url({ protocol: /^https?$/ }).optional(),
  AZURE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be an Azure container name')
    .optional(),
  MAX_UPLOAD_BYTES: bytes.default(512 * 1024 * 1024),
  // --- quotas (issue 17, area quotas) ---
  /**
   * Storage every project may read from besides its own `projects/<name>/` (shared datasets, a team's landing
   * bucket): comma-separated URIs of folders (`s3://bucket/shared,file:///data/public`), matched by whole path
   * segments. Never opens the platform's own prefixes or another project's. Empty by default.
   */
  STORAGE_IMPORT_PREFIXES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(/^(file|s3|azure):\/\/\S+$/i, 'each must be a file://, s3:// or azure:// URI')
          .refine((u) => !u.split('/').some((s) => s === '..' || s === '.'), 'no "." or ".." segments'),
      ),
    ),
};

const otlpProtocol = z.enum(['http/protobuf', 'http/json', 'grpc']).refine((p) => p !== 'grpc', {
  message: 'grpc is not bundled: use http/protobuf or http/json (the collector listens on 4318 for both)',
});

/** OpenTelemetry's `key=value,key2=value2` lists (W3C baggage syntax; values percent-encoded). */
const otelPairs = (key: string) =>
  z.string().transform((raw, ctx) => {
    const out: Record<string, string> = {};
    for (const part of raw.split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      const k = eq > 0 ? part.slice(0, eq).trim() : '';
      let v: string | null = null;
      try {
        v = eq > 0 ? decodeURIComponent(part.slice(eq + 1).trim()) : null;
      } catch {
        /* reported below */
      }
      // The entry itself is not echoed: these lists may carry credentials.
      if (!k || v === null)
        ctx.addIssue({ code: 'custom', message: `${key} must be key=value pairs, comma separated` });
      else out[k] = v;
    }
    return out;
  });

const common = {
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FILE: z.string().optional(),
  LOG_PRETTY: bool.default(false),
  /** Prefix of every Redis key and queue, so tests and several installs can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9:_-]+$/)
    .default('modelyard'),
  /** Encrypts secrets the platform must read back (webhook signing keys). Changing it orphans those secrets. */
  SECRET_KEY: z.string().min(32, 'at least 32 characters'),
  // Hostile models (issue 22, area "models"): what one uploaded model may use. Validation (the worker) loads and first
  // runs a model in a child process with this much memory and time; past either the version fails with the reason.
  // A served model whose work grows with a request's values (engine/contained-session.ts) runs in a process of its
  // own with the same memory, and a run past VALIDATION_TIMEOUT_SECONDS is stopped there.
  VALIDATION_MEMORY_MB: z.coerce
    .number()
    .int()
    .min(256)
    .max(1024 * 1024)
    .default(1024),
  VALIDATION_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  /** onnxruntime threads per session: 1 by default, because api processes and sessions already share the cores. */
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** Local copies of served artifacts, verified by checksum, so a restart does not download every model again. */
  MODEL_CACHE_DIR: z.string().default('.data/model-cache'),
  /** How often each process checks its serving state against Postgres, healing a missed registry-changed message. */
  SERVING_RESYNC_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /** How often each api process writes its per-minute rollups (and silent comparisons). */
  ROLLUP_FLUSH_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
  /** Async prediction results (and their job rows) are kept this long after they finish. */
  JOB_RESULT_TTL_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 90)
    .default(24),
  /** Batch scoring input files (uploads) may be at most this large. */
  MAX_BATCH_INPUT_BYTES: bytes.default(2 * 1024 * 1024 * 1024),
  ...storageEnv,
  // Outbound requests (issue 22, SSRF): webhooks and prediction callbacks.
  /**
   * Receivers outside the public Internet that webhooks and callbacks may reach, comma or space separated:
   * addresses or CIDRs (`10.20.0.0/16`, `fd00::/8`), host names (`hooks.corp.internal`), each with an optional
   * `:port` (`[::1]:9000`). Empty by default: loopback, private, link-local, CGNAT, ULA and multicast are refused.
   */
  OUTBOUND_ALLOW_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean)),
  // Hostile models (issue 22, area "models"): the artifacts one process holds loaded, in MB. Past it the least
  // recently used version nothing deploys is unloaded; deployed versions (stage, alias, pilot, silent) always stay.
  SERVING_MAX_LOADED_MB: z.coerce.number().int().min(1).default(2048),
  // --- tracing (issue 20, area otel): OpenTelemetry's standard variables; see tracingConfig below. ---
  OTEL_SDK_DISABLED: bool.default(false),
  /** Tracing is on only when one of these is set: the collector's base URL (`/v1/traces` is appended) or the full URL. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** http/protobuf (the spec's default) or http/json; gRPC is not bundled. The TRACES_ one wins. */
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol.optional(),
  /** `key=value,...` (values percent-encoded) sent with every export, e.g. a vendor's API key: never logged. */
  OTEL_EXPORTER_OTLP_HEADERS: otelPairs('OTEL_EXPORTER_OTLP_HEADERS').optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otelPairs('OTEL_EXPORTER_OTLP_TRACES_HEADERS').optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: z.coerce.number().int().min(1).max(600_000).optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: z.coerce.number().int().min(1).max(600_000).optional(),
  /** `otlp` (the default) or `none`, which switches tracing off. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  /** The ratio of the *traceidratio samplers, 0 to 1 (default 1). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** Defaults to modelyard-api / modelyard-worker. */
  OTEL_SERVICE_NAME: z.string().min(1).max(255).optional(),
  OTEL_RESOURCE_ATTRIBUTES: otelPairs('OTEL_RESOURCE_ATTRIBUTES').optional(),
  /** The batch span processor: ms between exports, spans kept waiting (past it new ones are dropped), per export. */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).max(600_000).default(5000),
  OTEL_BSP_MAX_QUEUE_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(512),
  // Explanations (issue 18, area explain): per-feature contributions (Shapley values) of a prediction.
  /** Rows of the version's reference dataset (its first ones) used as the background the contributions are against. */
  EXPLAIN_BACKGROUND_ROWS: z.coerce.number().int().min(1).max(1000).default(100),
  /** Rows one explain request may ask for (explanations cost hundreds to thousands of model rows each). */
  EXPLAIN_MAX_ROWS: z.coerce.number().int().min(1).max(1000).default(20),
  /** Up to this many features, models the explainer cannot read are explained exactly (every coalition). */
  EXPLAIN_EXACT_MAX_FEATURES: z.coerce.number().int().min(1).max(16).default(10),
  /** Model rows one explained row may cost by exact enumeration (2^features x background); past it: sampled. */
  EXPLAIN_MAX_EVALUATIONS: z.coerce.number().int().min(1000).max(10_000_000).default(200_000),
  /** Samples (feature orders) of the sampled method, rounded up to a multiple of the background rows. */
  EXPLAIN_SAMPLES: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Explanations computed at once per process, and how many may wait; past that 429. Predictions never wait. */
  EXPLAIN_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  EXPLAIN_QUEUE: z.coerce.number().int().min(0).max(1000).default(8),
  // Ground truth and performance (issue 18, area "feedback").
  /**
   * Logged requests one performance report, alert rule or pilot verdict reads (the newest of its range); a range
   * with more says `truncated`. Bounds the memory and time of each.
   */
  PERFORMANCE_MAX_ROWS: z.coerce.number().int().min(100).max(5_000_000).default(100_000),
  // Explanations, the rest of issue 18 (area explain-rest).
  /** Rows of the reference dataset (its first ones) a version's global importance explains (cached per version). */
  EXPLAIN_IMPORTANCE_ROWS: z.coerce.number().int().min(1).max(1000).default(50),
};

/**
 * The keys a backend cannot work without. A half-configured backend fails at boot, not at the first upload. Its
 * credentials may come from the pod's identity instead of keys (S3 without S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY,
 * Azure with AZURE_STORAGE_ACCOUNT_URL), so only where the artifacts live is required.
 */
const STORAGE_REQUIRED = {
  s3: ['S3_BUCKET'],
  azure: ['AZURE_CONTAINER'],
} as const;

/** Cross-key checks zod cannot express per key; they run on the raw env so they are listed with the others. */
function storageIssues(env: Record<string, string>): { key: string; message: string }[] {
  const chosen = env.STORAGE_DEFAULT ?? 'local';
  const issues: { key: string; message: string }[] = [];
  const azureKeys = ['AZURE_CONTAINER', 'AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_ACCOUNT_URL'];
  const touched = {
    s3: ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].some((k) => env[k] !== undefined),
    azure: azureKeys.some((k) => env[k] !== undefined),
  };
  for (const [backend, keys] of Object.entries(STORAGE_REQUIRED)) {
    const missing = keys.filter((k) => env[k] === undefined);
    if (missing.length === 0 || (chosen !== backend && !touched[backend as keyof typeof touched])) continue;
    const why =
      chosen === backend ? `required when STORAGE_DEFAULT=${backend}` : `required to configure the ${backend} backend`;
    for (const key of missing) issues.push({ key, message: why });
  }
  // One static S3 key without the other is a typo, not a request for the pod identity.
  for (const [key, other] of [
    ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'],
    ['S3_SECRET_ACCESS_KEY', 'S3_ACCESS_KEY_ID'],
  ] as const) {
    if (env[key] === undefined && env[other] !== undefined)
      issues.push({ key, message: `required with ${other} (or set neither to use the pod identity)` });
  }
  if (touched.azure || chosen === 'azure') {
    const both = env.AZURE_STORAGE_CONNECTION_STRING !== undefined && env.AZURE_STORAGE_ACCOUNT_URL !== undefined;
    const neither = env.AZURE_STORAGE_CONNECTION_STRING === undefined && env.AZURE_STORAGE_ACCOUNT_URL === undefined;
    if (both || neither)
      issues.push({
        key: both ? 'AZURE_STORAGE_ACCOUNT_URL' : 'AZURE_STORAGE_CONNECTION_STRING',
        message: both
          ? 'set either AZURE_STORAGE_CONNECTION_STRING (a key) or AZURE_STORAGE_ACCOUNT_URL (the pod identity), not both'
          : 'set AZURE_STORAGE_CONNECTION_STRING (a key) or AZURE_STORAGE_ACCOUNT_URL (the pod identity)',
      });
  }
  return issues;
}

const apiEnv = z.object({
  ...common,
  API_PORT: port.default(8080),
  API_HOST: z.string().default('0.0.0.0'),
  SESSION_SECRET: z.string().min(32, 'at least 32 characters'),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24 * 7),
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
  MAX_ROWS_PER_REQUEST: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /**
   * Token bucket per API key (per user for dashboard sessions), shared by every api process through Redis.
   * Requests per second and burst; 0 switches the limit off. RATE_LIMIT_PER_MODEL_RPS adds a bucket per
   * (key, model) on top.
   */
  RATE_LIMIT_RPS: z.coerce.number().min(0).default(1000),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(2000),
  RATE_LIMIT_PER_MODEL_RPS: z.coerce.number().min(0).default(0),
  /** Share of predictions whose inputs and outputs are kept for drift monitoring (0 to 1). */
  PREDICTION_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.01),
  /** Silent (shadow) runs in flight per api process; past it a copy is dropped and counted, never queued. */
  SILENT_MAX_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(2),
  /**
   * Share of one core's time silent runs may take per api process (0 to 1), measured as their inference time.
   * Past it copies are dropped and counted: a slow silent version sees fewer requests instead of slowing production.
   */
  SILENT_CPU_SHARE: z.coerce.number().min(0).max(1).default(0.05),
  /** Budget for one prediction (queueing + inference); past it the caller gets 503 and a metric counts it. */
  PREDICT_TIMEOUT_MS: z.coerce.number().int().min(1).default(300),
  TRUST_PROXY: z
    .string()
    .default('loopback')
    .transform((v) => (v === 'true' ? true : v === 'false' ? false : v)),
  /** api processes on API_PORT (node:cluster): one crash leaves the others answering; default one per core. */
  API_PROCESSES: z.coerce.number().int().min(1).max(256).default(availableParallelism()),
  // Browser and session (issue 22): slow clients. A client must send its request headers within
  // HTTP_HEADERS_TIMEOUT_MS and its whole request (uploads included) within HTTP_REQUEST_TIMEOUT_MS; an idle
  // keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS. The dashboard's server.mjs reads the same keys.
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  // --- floods (issue 22): what one process spends on callers it may not serve ---
  /**
   * Failed login attempts per client IP (any email) per LOGIN_WINDOW_SECONDS, across api processes; checked
   * before argon2 (a successful login gives its attempt back).
   */
  LOGIN_IP_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(100),
  /**
   * Password checks per second per api process (argon2 takes a core for tens of ms), with a burst of twice as
   * many (at least 10); past it a login gets 429.
   */
  LOGIN_GLOBAL_PER_SECOND: z.coerce.number().min(1).default(2),
  /** argon2 hashes at once per process (libuv's pool has 4 threads), and how many may wait; past that 429. */
  LOGIN_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(4).default(1),
  LOGIN_HASH_QUEUE: z.coerce.number().int().min(0).default(16),
  /** Good API keys kept in memory per process (least recently used dropped first). */
  API_KEY_CACHE_SIZE: z.coerce.number().int().min(1).default(10_000),
  /** Unknown keys remembered as unknown (for API_KEY_CACHE_SECONDS), in a cache of their own. */
  API_KEY_MISS_CACHE_SIZE: z.coerce.number().int().min(1).default(1000),
  /**
   * onnxruntime runs per api process started and not finished; more wait in line, and a run whose caller's
   * PREDICT_TIMEOUT_MS has passed while it waited is dropped, never started.
   */
  MAX_INFLIGHT_RUNS: z.coerce.number().int().min(1).max(256).default(4),
  /**
   * Requests to one version that arrive in the same turn of the event loop are merged into one onnxruntime run of
   * up to this many rows (a run's fixed cost is most of a small request's), unless the model's servingConfig says
   * otherwise. Nobody waits for company. 0: one run per request.
   */
  SERVING_MICRO_BATCH_ROWS: z.coerce.number().int().min(0).max(4096).default(256),
  /** Series per request-metric family; past it new label sets are counted under one `(overflow)` series. */
  METRICS_MAX_SERIES: z.coerce.number().int().min(10).default(2000),
  // --- single sign-on (issue 17, area sso): OpenID Connect. Without OIDC_ISSUER_URL nothing here applies. ---
  /** The IdP's issuer; its discovery document is read at boot. https, or http on a loopback address (tests). */
  OIDC_ISSUER_URL: z.url().optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** The dashboard client's secret: never logged (the logger redacts it). */
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /** Where the IdP sends the browser back: the dashboard's `/api/v1/auth/sso/callback` (or the api's own). */
  OIDC_REDIRECT_URL: z.url().optional(),
  OIDC_SCOPES: z.string().default('openid email profile offline_access'),
  /** The ID token / userinfo claim holding the user's IdP groups (a list of names). */
  OIDC_GROUPS_CLAIM: z.string().min(1).default('groups'),
  /** Role of a user whose groups map to none in OIDC_GROUP_ROLES. */
  OIDC_DEFAULT_ROLE: z.enum(['viewer', 'scientist', 'approver', 'admin']).default('viewer'),
  /** `idp-group=role,...`: a user's role is the highest their groups map to, re-read at each login and refresh. */
  OIDC_GROUP_ROLES: z.string().default(''),
  /** Comma list of IdP groups: when set, only their members may sign in, and losing them all ends the session. */
  OIDC_ALLOWED_GROUPS: z.string().default(''),
  /** The CLI's public client (device authorization grant); defaults to OIDC_CLIENT_ID. */
  OIDC_CLI_CLIENT_ID: z.string().min(1).optional(),
  /** The button's label on the login page: "Sign in with <name>". */
  OIDC_PROVIDER_NAME: z.string().min(1).max(60).default('single sign-on'),
  /** Minutes between two checks of a signed-in user at the IdP (refresh token grant, groups synced). */
  OIDC_REFRESH_MINUTES: z.coerce.number().min(0.05).max(1440).default(5),
  // --- serving speed (issue 23, area perf) ---
  /**
   * Diagnosis: time each stage of a prediction (auth, body, parse, select, prepare, run, render, record) into
   * `modelyard_prediction_stage_seconds{stage}`. Off by default: a few clock reads per request.
   */
  SERVING_STAGE_TIMERS: bool.default(false),
  /**
   * Silent versions' runs (and production's run beside a pilot's answer) in a worker thread of each api process
   * at nice SILENT_THREAD_NICE (0-19), off the event loop that serves production; false runs them on it.
   */
  SILENT_THREAD: bool.default(true),
  SILENT_THREAD_NICE: z.coerce.number().int().min(0).max(19).default(19),
});

const workerEnv = z.object({
  ...common,
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  SESSION_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  PREDICTION_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  /** Drift windows (by their start) and resolved alerts (by when they resolved) older than this are deleted. */
  DRIFT_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  /** Ground truth labels not received again for this long are deleted (issue 18). */
  GROUND_TRUTH_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  /** How often the worker evaluates pilots' auto-rollback rules. */
  DEPLOYMENT_CHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /**
   * Rows per batch scoring chunk: one session run, one part file and one database row each. Large by default
   * (issue 23): every chunk costs queue and database round trips, and a session run is cheaper per row in bulk.
   */
  BATCH_CHUNK_ROWS: z.coerce.number().int().min(1).max(5_000_000).default(250_000),
  /**
   * How long a worker's claim on a job lasts without renewal (BullMQ lockDuration). A worker that dies has
   * its job handed to another after about this long.
   */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Touched every few seconds while the worker is healthy (its Redis answers): container health checks read it. */
  WORKER_HEARTBEAT_FILE: z.string().optional(),
  /** How often drift.fold folds new prediction-log rows into windows and reports them. */
  DRIFT_FOLD_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Length of a drift window (windows start at multiples of it since the epoch). */
  DRIFT_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  /**
   * Drift status thresholds: a column is `drift` when its test's p-value is under DRIFT_P_VALUE and PSI >=
   * DRIFT_PSI_DRIFT and JS >= DRIFT_JS; `warn` when the p-value is under it and PSI >= DRIFT_PSI_WARN or JS >=
   * DRIFT_JS; a dataset is `drift` when at least DRIFT_SHARE of its features are.
   */
  DRIFT_PSI_WARN: z.coerce.number().min(0).default(0.1),
  DRIFT_PSI_DRIFT: z.coerce.number().min(0).default(0.25),
  DRIFT_JS: z.coerce.number().min(0).max(1).default(0.1),
  DRIFT_P_VALUE: z.coerce.number().min(0).max(1).default(0.05),
  DRIFT_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  /** How often alerts.evaluate checks every model's alert rules. */
  ALERT_EVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** How often jobs.reconcile puts back work that Postgres has and the queues lost (also at worker start). */
  RECONCILE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** The worker's /metrics (Prometheus; a key with models:read) and /healthz; 0 turns the listener off. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  WORKER_METRICS_HOST: z.string().default('0.0.0.0'),
  /** A version still `pending` after this long (its validation died with its worker, say) is failed by a sweeper. */
  VALIDATION_STUCK_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  // Stream deployments (issue 19, area "streams"): every worker consumes every running stream deployment.
  /** Off: this worker consumes no streams (its other jobs run as before). */
  STREAMS_ENABLED: bool.default(true),
  /** How often the worker re-reads the stream deployments (a change made through the api is also announced). */
  STREAM_SYNC_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  // Fast batch (issue 23, area "batch-fast"). An input file up to this size is scored by the worker that reads it,
  // from memory, chunk after chunk (no input part files, no chunk jobs); a larger one is cut into chunk jobs that
  // every worker takes part in. 0: always cut. Parquet and Arrow inputs are always read by one worker, so they
  // may be at most this large (or 512 MiB when it is 0).
  BATCH_INLINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(512 * 1024 * 1024),
  // --- serving speed (issue 23, area perf) ---
  /**
   * The worker's CPU priority (nice, 0-19; 0 leaves it as started). Jobs (batch scoring, drift folds, ingest) run
   * on the cores the api serves from: at 10 the kernel gives the api's threads the CPU first when both want it,
   * and the worker still has every idle cycle.
   */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  // --- batch on every core (issue 23, area batch2) ---
  /**
   * Threads that parse, score (a session each, one onnxruntime thread) and format a batch job's CSV chunks while
   * the worker's event loop writes the output in order. Unset: one per core; 0: the event loop does it all.
   */
  BATCH_THREADS: z.coerce.number().int().min(0).max(256).optional(),
  // --- batch contribution columns' cost (issue 23 follow-up) ---
  /**
   * Rows one batch job may ask contribution columns for: each costs EXPLAIN_SAMPLES x (features + 1) model rows
   * (or an exact enumeration), so an unbounded job would hold a worker for hours. Past it the job fails with the reason.
   */
  BATCH_CONTRIBUTIONS_MAX_ROWS: z.coerce.number().int().min(1).max(100_000_000).default(100_000),
});

const seedEnv = z.object({
  DATABASE_URL: common.DATABASE_URL,
  MODELYARD_ADMIN_EMAIL: z.string().email().optional(),
  MODELYARD_ADMIN_PASSWORD: z.string().min(10, 'at least 10 characters').optional(),
  MODELYARD_ADMIN_API_KEY: z.string().min(32, 'at least 32 characters').optional(),
});

function parse<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
  check: (cleaned: Record<string, string>) => { key: string; message: string }[] = () => [],
): z.output<T> {
  // Empty strings mean "unset": a `FOO=` line in a compose file should fall back to the default, not fail.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const r = schema.safeParse(cleaned);
  const issues = r.success
    ? []
    : r.error.issues.map((i) => ({ key: i.path.join('.') || '(root)', message: i.message }));
  issues.push(...check(cleaned).filter((c) => !issues.some((i) => i.key === c.key)));
  if (!r.success || issues.length > 0) throw new ConfigError(issues);
  return r.data;
}

function shared(e: z.output<typeof apiEnv> | z.output<typeof workerEnv>) {
  return {
    db: { url: e.DATABASE_URL },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    log: { level: e.LOG_LEVEL, file: e.LOG_FILE, pretty: e.LOG_PRETTY },
    secrets: { key: e.SECRET_KEY },
    onnx: {
      intraOpThreads: e.ORT_INTRA_OP_THREADS,
      cacheDir: e.MODEL_CACHE_DIR,
      maxLoadedMb: e.SERVING_MAX_LOADED_MB,
      contained: { memoryMb: e.VALIDATION_MEMORY_MB, runSeconds: e.VALIDATION_TIMEOUT_SECONDS },
    },
    registrySync: { seconds: e.SERVING_RESYNC_SECONDS },
    rollups: { flushSeconds: e.ROLLUP_FLUSH_SECONDS },
    jobs: { resultTtlHours: e.JOB_RESULT_TTL_HOURS, maxInputBytes: e.MAX_BATCH_INPUT_BYTES },
    storage: storage(e),
    outbound: { allowHosts: e.OUTBOUND_ALLOW_HOSTS },
    tracing: tracingConfig(e),
    explain: {
      backgroundRows: e.EXPLAIN_BACKGROUND_ROWS,
      maxRows: e.EXPLAIN_MAX_ROWS,
      exactMaxFeatures: e.EXPLAIN_EXACT_MAX_FEATURES,
      maxEvaluations: e.EXPLAIN_MAX_EVALUATIONS,
      samples: e.EXPLAIN_SAMPLES,
      maxConcurrency: e.EXPLAIN_MAX_CONCURRENCY,
      queue: e.EXPLAIN_QUEUE,
      importanceRows: e.EXPLAIN_IMPORTANCE_ROWS,
    },
    performance: { maxRows: e.PERFORMANCE_MAX_ROWS },
  };
}

/**
 * OpenTelemetry tracing, from the standard OTEL_* variables: null (off, nothing loaded) unless an OTLP endpoint
 * is set, and always null with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The trace-specific
 * variables win over the general ones, as the specification says.
 */
function tracingConfig(e: z.output<typeof apiEnv> | z.output<typeof workerEnv>) {
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base && `${base.replace(/\/+$/, '')}/v1/traces`);
  if (e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === 'none' || !url) return null;
  const sampler = e.OTEL_TRACES_SAMPLER;
  return {
    url,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    sampler: {
      root: sampler.replace('parentbased_', '') as 'always_on' | 'always_off' | 'traceidratio',
      parentBased: sampler.startsWith('parentbased_'),
      ratio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    },
    serviceName: e.OTEL_SERVICE_NAME ?? null,
    resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES ?? {},
    batch: {
      scheduledDelayMillis: e.OTEL_BSP_SCHEDULE_DELAY,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, e.OTEL_BSP_MAX_QUEUE_SIZE),
    },
  };
}
export type TracingConfig = NonNullable<ReturnType<typeof tracingConfig>>;

/** null for a backend whose keys are not set; storageIssues has already refused a half-set one. */
function storage(e: z.output<typeof apiEnv> | z.output<typeof workerEnv>) {
  // Keys undefined: the SDK's default credential chain (storageIssues has refused one key without the other).
  const s3 = e.S3_BUCKET
    ? {
        endpoint: e.S3_ENDPOINT,
        region: e.S3_REGION,
        bucket: e.S3_BUCKET,
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
        accessKeyId: e.S3_ACCESS_KEY_ID,
        secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      }
    : null;
  const { AZURE_CONTAINER: container, AZURE_STORAGE_CONNECTION_STRING: connectionString } = e;
  const accountUrl = e.AZURE_STORAGE_ACCOUNT_URL;
  // A connection string carries its key; an account URL means the pod identity (storageIssues refused both).
  const azure: { connectionString: string; container: string } | { accountUrl: string; container: string } | null =
    !container
      ? null
      : connectionString
        ? { connectionString, container }
        : accountUrl
          ? { accountUrl, container }
          : null;
  return {
    defaultBackend: e.STORAGE_DEFAULT,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    local: { root: e.STORAGE_LOCAL_ROOT },
    s3,
    azure,
    importPrefixes: e.STORAGE_IMPORT_PREFIXES,
  };
}

export function loadApiConfig(env: Record<string, string | undefined> = process.env) {
  const e = parse(apiEnv, env, (cleaned) => [...storageIssues(cleaned), ...oidcIssues(cleaned)]);
  return {
    ...shared(e),
    http: {
      port: e.API_PORT,
      host: e.API_HOST,
      maxBodyBytes: e.MAX_BODY_BYTES,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      trustProxy: e.TRUST_PROXY,
      processes: e.API_PROCESSES,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    serving: {
      maxRows: e.MAX_ROWS_PER_REQUEST,
      timeoutMs: e.PREDICT_TIMEOUT_MS,
      rateLimit: { rps: e.RATE_LIMIT_RPS, burst: e.RATE_LIMIT_BURST, perModelRps: e.RATE_LIMIT_PER_MODEL_RPS },
      predictionLogSampleRate: e.PREDICTION_LOG_SAMPLE_RATE,
      silentMaxConcurrency: e.SILENT_MAX_CONCURRENCY,
      silentCpuShare: e.SILENT_CPU_SHARE,
      maxInflightRuns: e.MAX_INFLIGHT_RUNS,
      microBatchRows: e.SERVING_MICRO_BATCH_ROWS,
      metricsMaxSeries: e.METRICS_MAX_SERIES,
      stageTimers: e.SERVING_STAGE_TIMERS,
      silentThread: e.SILENT_THREAD,
      silentThreadNice: e.SILENT_THREAD_NICE,
    },
    auth: {
      sessionSecret: e.SESSION_SECRET,
      sessionTtlHours: e.SESSION_TTL_HOURS,
      cookieSecure: e.COOKIE_SECURE,
      loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS,
      loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
      apiKeyCacheSeconds: e.API_KEY_CACHE_SECONDS,
      loginIpMaxAttempts: e.LOGIN_IP_MAX_ATTEMPTS,
      loginGlobalPerSecond: e.LOGIN_GLOBAL_PER_SECOND,
      loginHashConcurrency: e.LOGIN_HASH_CONCURRENCY,
      loginHashQueue: e.LOGIN_HASH_QUEUE,
      apiKeyCacheSize: e.API_KEY_CACHE_SIZE,
      apiKeyMissCacheSize: e.API_KEY_MISS_CACHE_SIZE,
    },
    oidc: oidcConfig(e),
  };
}

const ROLE_NAMES = ['viewer', 'scientist', 'approver', 'admin'] as const;

/** null without OIDC_ISSUER_URL; oidcIssues has already refused a half-set or malformed block. */
function oidcConfig(e: z.output<typeof apiEnv>) {
  if (!e.OIDC_ISSUER_URL || !e.OIDC_CLIENT_ID || !e.OIDC_REDIRECT_URL) return null;
  const list = (v: string) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const groupRoles = list(e.OIDC_GROUP_ROLES).map((pair) => {
    const at = pair.lastIndexOf('=');
    return { group: pair.slice(0, at).trim(), role: pair.slice(at + 1).trim() as (typeof ROLE_NAMES)[number] };
  });
  return {
    issuerUrl: e.OIDC_ISSUER_URL,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: e.OIDC_CLIENT_SECRET ?? null,
    redirectUrl: e.OIDC_REDIRECT_URL,
    scopes: e.OIDC_SCOPES,
    groupsClaim: e.OIDC_GROUPS_CLAIM,
    defaultRole: e.OIDC_DEFAULT_ROLE,
    groupRoles,
    allowedGroups: list(e.OIDC_ALLOWED_GROUPS),
    cliClientId: e.OIDC_CLI_CLIENT_ID ?? e.OIDC_CLIENT_ID,
    providerName: e.OIDC_PROVIDER_NAME,
    refreshSeconds: Math.round(e.OIDC_REFRESH_MINUTES * 60),
  };
}
export type OidcConfig = NonNullable<ReturnType<typeof oidcConfig>>;

/** The OIDC block is all or nothing, and its group-to-role pairs must name roles. */
function oidcIssues(env: Record<string, string>): { key: string; message: string }[] {
  const issues: { key: string; message: string }[] = [];
  if (!env.OIDC_ISSUER_URL) return issues;
  for (const key of ['OIDC_CLIENT_ID', 'OIDC_REDIRECT_URL'])
    if (!env[key]) issues.push({ key, message: 'required when OIDC_ISSUER_URL is set' });
  try {
    const u = new URL(env.OIDC_ISSUER_URL);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback))
      issues.push({ key: 'OIDC_ISSUER_URL', message: 'must be https (http only on a loopback address)' });
  } catch {
    /* the schema reports it */
  }
  for (const pair of (env.OIDC_GROUP_ROLES ?? '').split(',').filter((x) => x.trim())) {
    const at = pair.lastIndexOf('=');
    const role = pair.slice(at + 1).trim();
    if (at <= 0 || !(ROLE_NAMES as readonly string[]).includes(role))
      issues.push({ key: 'OIDC_GROUP_ROLES', message: `"${pair}" is not group=viewer|scientist|approver|admin` });
  }
  return issues;
}
export type ApiConfig = ReturnType<typeof loadApiConfig>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env) {
  const e = parse(workerEnv, env, storageIssues);
  return {
    ...shared(e),
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      sessionRetentionDays: e.SESSION_RETENTION_DAYS,
      predictionLogRetentionDays: e.PREDICTION_LOG_RETENTION_DAYS,
      driftRetentionDays: e.DRIFT_RETENTION_DAYS,
      groundTruthRetentionDays: e.GROUND_TRUTH_RETENTION_DAYS,
      deploymentCheckSeconds: e.DEPLOYMENT_CHECK_SECONDS,
      batchChunkRows: e.BATCH_CHUNK_ROWS,
      lockMs: e.WORKER_LOCK_MS,
      heartbeatFile: e.WORKER_HEARTBEAT_FILE ?? null,
      reconcileSeconds: e.RECONCILE_SECONDS,
      metricsPort: e.WORKER_METRICS_PORT,
      metricsHost: e.WORKER_METRICS_HOST,
      nice: e.WORKER_NICE,
      drift: {
        foldSeconds: e.DRIFT_FOLD_SECONDS,
        windowMinutes: e.DRIFT_WINDOW_MINUTES,
        alertSeconds: e.ALERT_EVAL_SECONDS,
        thresholds: {
          psi: { warn: e.DRIFT_PSI_WARN, drift: e.DRIFT_PSI_DRIFT },
          js: e.DRIFT_JS,
          pValue: e.DRIFT_P_VALUE,
          driftShare: e.DRIFT_SHARE,
        },
      },
      validation: {
        memoryMb: e.VALIDATION_MEMORY_MB,
        timeoutSeconds: e.VALIDATION_TIMEOUT_SECONDS,
        stuckMinutes: e.VALIDATION_STUCK_MINUTES,
      },
      streams: { enabled: e.STREAMS_ENABLED, syncMs: e.STREAM_SYNC_MS },
      batchInlineMaxBytes: e.BATCH_INLINE_MAX_BYTES,
      batchThreads: e.BATCH_THREADS ?? availableParallelism(),
      batchContributionsMaxRows: e.BATCH_CONTRIBUTIONS_MAX_ROWS,
    },
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
export type StorageConfig = CommonConfig['storage'];
export type ExplainConfig = CommonConfig['explain'];
