import type { TSignature } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { MicroBatcher, type MicroBatchConfig } from './micro-batcher.js';
import type { Feeds, Outputs, Session } from './ort.js';
import { RunGate } from './run-gate.js';
import { feedsFromNamedArrays, feedsFromRows, tensorToJson, type ServingLimits } from './tensors.js';
import type { ServedVersion } from './version-pool.js';

/**
 * Runs a loaded version: every output it can return, or the ones named. The one call through which serving's
 * side paths (silent and pilot comparisons), async predictions and batch scoring reach a session; requests
 * on the serving path go through a Runner, which adds the per-process cap and micro-batching.
 */
export function runVersion(
  sv: ServedVersion,
  feeds: Feeds,
  outputs: readonly string[] = sv.outputNames,
): Promise<Outputs> {
  return sv.session.run(feeds, outputs);
}

/**
 * The serving path's runs, per process: at most MAX_INFLIGHT_RUNS started and not finished (./run-gate.ts: the
 * others wait first come, first served, and are dropped unstarted past their deadline), and micro-batching
 * (./micro-batcher.ts: each merged run holds one slot).
 */
export class Runner {
  private readonly gate: RunGate;
  private readonly batcher: MicroBatcher;
  private readonly releaseGate = () => this.gate.release();

  /** `onMerged`: a run served this many requests (more than one) of the micro-batcher's. */
  constructor(maxInflight: number, onDrop: () => void = () => {}, onMerged: (requests: number) => void = () => {}) {
    this.gate = new RunGate(maxInflight, onDrop);
    this.batcher = new MicroBatcher((sv, feeds, outputs, until) => this.merged(sv, feeds, outputs, until), onMerged);
  }

  /**
   * One request's run, holding a slot from its start until the caller calls `settled()` once it settles (in the
   * callbacks the caller has anyway, so the hot path adds no promise). Rejects with RUN_DROPPED, holding no slot,
   * when it waited past `deadline` (performance.now() ms).
   */
  direct(sv: ServedVersion, feeds: Feeds, outputs: readonly string[], deadline: number): Promise<Outputs> {
    return this.gate.tryTake()
      ? sv.session.run(feeds, outputs)
      : this.gate.wait(deadline).then(() => sv.session.run(feeds, outputs));
  }

  /** A `direct` run settled (not one dropped with RUN_DROPPED): its slot goes to the next waiter. */
  settled() {
    this.gate.release();
  }

  /** One request's run merged with concurrent ones of the same version and shape; slots are the batcher's. */
  batched(sv: ServedVersion, feeds: Feeds, cfg: MicroBatchConfig, deadline: number): Promise<Outputs> {
    return this.batcher.submit(sv, feeds, cfg, deadline);
  }

  /** Runs going and runs waiting. */
  get load(): { running: number; waiting: number } {
    return this.gate.load;
  }

  /** The micro-batcher's runs go through the gate too: each holds one slot until it settles. */
  private merged(sv: ServedVersion, feeds: Feeds, outputs: string[], deadline: number): Promise<Outputs> {
    const start = () => {
      const p = sv.session.run(feeds, outputs);
      p.then(this.releaseGate, this.releaseGate);
      return p;
    };
    return this.gate.tryTake() ? start() : this.gate.wait(deadline).then(start);
  }
}

/** A sample row: a record by feature name (each input takes its `columns`), or values in input order. */
export type SampleRow = Record<string, unknown> | readonly unknown[];

/** Output name -> nested array shaped like the tensor ([N] or [N, C] ...), ready for JSON. */
export type SampleOutputs = Record<string, unknown[]>;

/** A model's own rows (samples, a reference dataset) are not a caller's request: no row cap. */
const OWN_ROWS: ServingLimits = { maxRows: Number.MAX_SAFE_INTEGER };

/**
 * Runs a model's own rows (registration samples, a drift reference) through a session, built into tensors by the
 * same builder as every request (./tensors.ts), and gives every output of the signature back as JSON. BAD_REQUEST
 * naming the row and feature when a row does not fit; VALIDATION_FAILED when the model fails on them.
 */
export async function runSamples(
  session: Session,
  signature: TSignature,
  rows: readonly SampleRow[],
): Promise<SampleOutputs> {
  if (!rows.length) return {};
  return runFeeds(session, signature, feedsFromRows(signature, rows, OWN_ROWS));
}

/** Like runSamples, with each input given as a (nested) array of rows, e.g. samples.json `input_data`. */
export async function runInputs(
  session: Session,
  signature: TSignature,
  inputs: Record<string, readonly unknown[]>,
): Promise<SampleOutputs> {
  return runFeeds(session, signature, feedsFromNamedArrays(signature, inputs, OWN_ROWS));
}

async function runFeeds(session: Session, signature: TSignature, feeds: Feeds): Promise<SampleOutputs> {
  const names = signature.outputs.map((o) => o.name);
  let results: Outputs;
  try {
    results = await session.run(feeds, names);
  } catch (e) {
    throw new AppError('VALIDATION_FAILED', `The model failed on the sample rows: ${(e as Error).message}`);
  }
  return Object.fromEntries(names.map((n) => [n, tensorToJson(results[n]!)]));
}
