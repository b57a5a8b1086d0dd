/** What a model serves right now, resolved without touching the database. */
export interface ModelState {
  model: string;
  production: number | null;
  /** Versions in Staging or Production (by stage, whatever the deployment pins). */
  staged: Set<number>;
  aliases: Map<string, number>;
  /** Pilots of the current deployment revision (production above already accounts for a pinned version). */
  pilots: { version: number; groups: string[]; percentage: number; startsAt: number | null; endsAt: number | null }[];
  /** Silent (shadow) versions: a sampled copy of production traffic, never returned. */
  silent: { version: number; sampleRate: number }[];
  /** How this model's requests are merged into runs (microBatchSetting); null: one run per request. */
  microBatch: { maxBatchRows: number; maxWaitUs: number } | null;
  /** What this state was built from (servingFingerprint): the resync compares it with Postgres. */
  fingerprint: string;
}

/**
 * A model's micro-batching from its servingConfig (ZServingConfig): its own `{maxBatchRows, maxWaitUs}`; `false`,
 * one run per request; otherwise the platform's default, the requests of one event-loop turn (maxWaitUs 0: the
 * batcher waits for no one) up to `defaultRows` rows (0 or 1: none).
 */
export function microBatchSetting(servingConfig: unknown, defaultRows: number): ModelState['microBatch'] {
  const own = (servingConfig as { microBatch?: ModelState['microBatch'] | false } | null)?.microBatch;
  if (own === false) return null;
  if (own) return own;
  return defaultRows >= 2 ? { maxBatchRows: defaultRows, maxWaitUs: 0 } : null;
}

/** The registry facts a model's serving state is built from, as Postgres has them. */
export interface ServingFacts {
  productionStage: number[];
  aliases: { name: string; version: number }[];
  deploymentRevision: number | null;
  servingConfig: unknown;
}

/** One string that changes whenever anything a model's serving state depends on changes. */
export function servingFingerprint(f: ServingFacts): string {
  const aliases = f.aliases
    .map((a) => `${a.name}=${a.version}`)
    .sort()
    .join(',');
  return `${[...f.productionStage].sort((a, b) => a - b).join(',')}|${aliases}|${f.deploymentRevision ?? '-'}|${JSON.stringify(f.servingConfig ?? null)}`;
}

/** Production, aliased, pilot or silent: kept loaded (never evicted for SERVING_MAX_LOADED_MB, never idle-unloaded). */
export function isPinned(state: ModelState, n: number): boolean {
  return (
    state.production === n ||
    [...state.aliases.values()].includes(n) ||
    state.pilots.some((p) => p.version === n) ||
    state.silent.some((x) => x.version === n)
  );
}

/**
 * Whether the model serves this version to anyone on its own: pinned, or in a stage (Staging, Production). Any
 * other version is loaded only for a caller allowed to name it by number (predict.anyVersion).
 */
export function isDeployed(state: ModelState, n: number): boolean {
  return isPinned(state, n) || state.staged.has(n);
}
