import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { JobPayloadParsed } from '@modelyard/contracts';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import type { DriftRow, ReferenceProfile } from './drift-profile.js';
import { createWindow, foldRows, type DriftWindow } from './drift-window.js';
import { driftReport, type DriftThresholds } from './drift-metrics.js';
import { DriftRepository } from './drift.repository.js';
import { asJson } from '../db/json.js';

/** Log entries (requests) per transaction, and per run: a backlog is worked off over several runs. */
const PAGE = 2000;
const MAX_PER_RUN = 50_000;

export const windowStart = (at: Date, minutes: number) =>
  new Date(Math.floor(at.getTime() / (minutes * 60_000)) * minutes * 60_000);

/** A stable seed per (version, window), so a window's sample does not depend on which worker created it. */
function seedOf(versionId: string, start: Date): number {
  let h = 0x811c9dc5;
  for (const ch of `${versionId}@${start.getTime()}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0 || 1;
}

type Group = {
  versionId: string;
  model: string;
  number: number;
  start: Date;
  rows: DriftRow[];
  silentRows: number;
  profile: ReferenceProfile;
};

/**
 * drift.fold: every PredictionLog row past the watermark (PredictionLog.seq, committed rows only) is folded into
 * its version's window (DRIFT_WINDOW_MINUTES, aligned to the epoch) and every window that changed gets a fresh
 * report. Windows, reports and the watermark are written in the transaction that read the rows, under a lock,
 * so a row is counted exactly once even with several workers or a crash half-way. Silent (shadow) rows carry
 * the silent version's number, so they fold into that version's own windows. Rows of versions without a ready
 * profile are passed over for good: a window cannot be counted without the profile's bins.
 */
@Injectable()
export class DriftFoldService implements JobHandler<'drift.fold'> {
  readonly job = 'drift.fold' as const;

  constructor(
    private readonly repo: DriftRepository,
    @Inject(COMMON_CONFIG)
    private readonly cfg: CommonConfig & {
      worker?: { drift?: { windowMinutes: number; thresholds?: DriftThresholds } };
    },
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  get windowMinutes() {
    return this.cfg.worker?.drift?.windowMinutes ?? 60;
  }

  async handle(_payload: JobPayloadParsed<'drift.fold'>, _ctx: JobContext) {
    const upTo = await this.repo.committedSeq();
    const total = { entries: 0, rows: 0, skipped: 0, windows: 0 };
    while (total.entries < MAX_PER_RUN) {
      const r = await this.repo.withFoldLock((tx) => this.foldPage(tx, upTo));
      if (r === null) return { ...total, busy: true };
      total.entries += r.entries;
      total.rows += r.rows;
      total.skipped += r.skipped;
      total.windows += r.windows;
      if (r.entries < PAGE) break;
    }
    if (total.entries) this.log.info(total, 'drift windows folded');
    return total;
  }

  private async foldPage(tx: Parameters<Parameters<DriftRepository['withFoldLock']>[0]>[0], upTo: bigint) {
    const after = await this.repo.cursor(tx);
    const entries = await this.repo.logPage(tx, after, upTo, PAGE);
    if (!entries.length) return { entries: 0, rows: 0, skipped: 0, windows: 0 };
    const pairs = [
      ...new Map(entries.map((e) => [`${e.model}\u0000${e.version}`, { model: e.model, number: e.version }])).values(),
    ];
    const profiles = new Map((await this.repo.readyProfiles(pairs, tx)).map((p) => [`${p.model}\u0000${p.number}`, p]));
    const groups = new Map<string, Group>();
    let rows = 0;
    let skipped = 0;
    for (const e of entries) {
      const p = profiles.get(`${e.model}\u0000${e.version}`);
      const features = (Array.isArray(e.features) ? e.features : []) as Record<string, unknown>[];
      if (!p?.profile) {
        skipped += features.length;
        continue;
      }
      const outputs = (Array.isArray(e.outputs) ? e.outputs : []) as Record<string, unknown>[];
      const start = windowStart(e.at, this.windowMinutes);
      const key = `${p.versionId}@${start.getTime()}`;
      let g = groups.get(key);
      if (!g)
        groups.set(
          key,
          (g = {
            versionId: p.versionId,
            model: e.model,
            number: e.version,
            start,
            rows: [],
            silentRows: 0,
            profile: p.profile as unknown as ReferenceProfile,
          }),
        );
      for (let i = 0; i < features.length; i++) g.rows.push({ features: features[i]!, outputs: outputs[i] });
      if (e.silent) g.silentRows += features.length;
      rows += features.length;
    }
    const existing = new Map(
      (await this.repo.windowsAt(tx, [...groups.values()])).map((w) => [`${w.versionId}@${w.start.getTime()}`, w]),
    );
    for (const [key, g] of groups) {
      const prev = existing.get(key);
      const window = prev
        ? (prev.window as unknown as DriftWindow)
        : createWindow(g.profile, { seed: seedOf(g.versionId, g.start) });
      foldRows(window, g.profile, g.rows);
      const report = driftReport(g.profile, window, this.cfg.worker?.drift?.thresholds);
      await this.repo.upsertWindow(tx, {
        versionId: g.versionId,
        model: g.model,
        number: g.number,
        start: g.start,
        minutes: prev?.minutes ?? this.windowMinutes,
        rows: window.rows,
        silentRows: (prev?.silentRows ?? 0) + g.silentRows,
        window: asJson(window),
        report: asJson(report),
        status: report.status,
        driftShare: report.driftShare,
      });
    }
    await this.repo.setCursor(tx, entries[entries.length - 1]!.seq);
    return { entries: entries.length, rows, skipped, windows: groups.size };
  }
}
