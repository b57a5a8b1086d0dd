import type { Registry } from 'prom-client';
import { LeanHistogram, type HistogramSeries } from '@modelyard/server';

/** A prediction's stages in the order the predict router goes through them. */
export const STAGES = ['auth', 'body', 'parse', 'select', 'prepare', 'run', 'render', 'record'] as const;
export type Stage = (typeof STAGES)[number];

const STAGE_BUCKETS = [0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

/**
 * Diagnosis of where a prediction's time goes (SERVING_STAGE_TIMERS): each stage's wall time, from the end of the
 * previous one, in `modelyard_prediction_stage_seconds{stage}`. `auth` is the key cache or session lookup, `body`
 * the wait for the body's last byte, `run` the wait for a run slot plus the session run (onnxruntime-node starts it
 * in a setImmediate), `record` the metrics, rollups and access line. A stage whose p99 jumps while the others hold
 * is where a stall sits; `body` and `run` rise with any stall of the event loop, since both wait on it.
 */
export class StageTimers {
  private readonly series: HistogramSeries[];

  constructor(registry: Registry) {
    const h = new LeanHistogram(
      'modelyard_prediction_stage_seconds',
      'Prediction requests: wall time per stage of the predict router (SERVING_STAGE_TIMERS)',
      ['stage'],
      STAGE_BUCKETS,
      registry,
    );
    this.series = STAGES.map((s) => h.series([s]));
  }

  /** The time since `since` (performance.now() ms) into `stage`; returns now, the next stage's start. */
  lap(stage: Stage, since: number): number {
    const now = performance.now();
    this.series[STAGES.indexOf(stage)]!.observe((now - since) / 1000);
    return now;
  }
}
