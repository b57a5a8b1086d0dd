import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { TProjectUsage } from '@modelyard/contracts';
import { ProjectsRepository } from './projects.repository.js';
import { AUTH_CHANGED } from '../auth/auth.service.js';
import { AppError } from '../platform/errors.js';
import { RedisService } from '../platform/redis.service.js';

/** How often every process re-reads the requests/s quotas, besides the `auth-changed` message a change sends. */
const RELOAD_MS = 5_000;
/** What a refused job submission tells the caller to wait: jobs take seconds to minutes, not milliseconds. */
const JOB_RETRY_AFTER_SECONDS = 5;

/**
 * Projects' quotas (null: no limit), enforced where the thing they limit is added:
 * - versions and stored bytes: `admitVersion` inside the transaction that allocates the version number, on the
 *   project's row locked (`lockQuotas`), so concurrent registrations are counted one after the other;
 *   `roomForVersion` before an upload, so an over-quota one stops streaming (nothing is stored);
 * - concurrent jobs (queued or running): `admitJob` inside the transaction that inserts the job row, locked the
 *   same way; over it a 429 with Retry-After (the caller retries; see ARCHITECTURE for why not a queue);
 * - requests/s: `requestsPerSecond`, read without I/O by the rate limiter on the predict path (serving/
 *   rate-limiter.ts), from a copy in memory reloaded on `auth-changed` and every few seconds.
 */
@Injectable()
export class ProjectQuotas implements OnModuleInit, OnModuleDestroy {
  private rps = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: ProjectsRepository,
    private readonly redis: RedisService,
  ) {}

  async onModuleInit() {
    // Project changes already announce themselves on auth-changed (ProjectsService invalidates credentials).
    await this.redis.subscribe(AUTH_CHANGED, () => void this.reload());
    await this.reload();
    this.timer = setInterval(() => void this.reload(), RELOAD_MS);
    this.timer.unref();
  }

  onModuleDestroy() {
    if (this.timer) clearInterval(this.timer);
  }

  /** Re-reads the requests/s quotas; a failure keeps the last copy (the next tick tries again). */
  async reload(): Promise<void> {
    try {
      const rows = await this.repo.requestQuotas();
      this.rps = new Map(rows.map((r) => [r.id, r.maxRequestsPerSecond!]));
    } catch {
      /* Postgres is away: keep enforcing what was known */
    }
  }

  /** The project's requests/s quota across its callers, or null; no I/O (the predict hot path). */
  requestsPerSecond(projectId: string): number | null {
    return this.rps.get(projectId) ?? null;
  }

  /**
   * Refuses one more version (of `sizeBytes` stored bytes, 0 for an artifact the project references) past the
   * project's quotas. Call it inside the transaction that creates the version: it locks the project's row.
   */
  async admitVersion(projectId: string, sizeBytes: number): Promise<void> {
    const head = await this.repo.quotas(projectId);
    if (!head || (head.maxVersions === null && (head.maxStoredBytes === null || sizeBytes === 0))) return;
    const q = await this.repo.lockQuotas(projectId);
    if (!q) return;
    if (q.maxVersions !== null) {
      const used = await this.repo.versionCount(projectId);
      if (used + 1 > q.maxVersions) throw overVersions(q.name, q.maxVersions, used);
    }
    await this.fitBytes(q, projectId, sizeBytes);
  }

  /** With the project's row locked: refuses `sizeBytes` more stored bytes past maxStoredBytes. */
  private async fitBytes(q: { name: string; maxStoredBytes: bigint | null }, projectId: string, sizeBytes: number) {
    if (q.maxStoredBytes === null || sizeBytes === 0) return;
    const used = await this.repo.storedBytes(projectId);
    if (used + sizeBytes > Number(q.maxStoredBytes)) throw overBytes(q.name, Number(q.maxStoredBytes), used);
  }

  /**
   * Before an upload: refuses a version the versions quota has no room for, and answers the most bytes the upload
   * may have under the stored-bytes quota (null: no quota) with the error to answer past them. Nothing is
   * locked or reserved: `admitVersion` checks both again once the size is known.
   */
  async roomForVersion(projectId: string): Promise<{ bytesLeft: number; refusal: () => AppError } | null> {
    const q = await this.repo.quotas(projectId);
    if (!q) return null;
    if (q.maxVersions !== null) {
      const used = await this.repo.versionCount(projectId);
      if (used + 1 > q.maxVersions) throw overVersions(q.name, q.maxVersions, used);
    }
    return this.bytesRoom(q, projectId);
  }

  /**
   * Before a job's input upload: the most bytes it may have under the stored-bytes quota (null: no quota) and the
   * error to answer past them. Nothing is reserved: `admitJob` checks again with the size.
   */
  async roomForJobInput(projectId: string): Promise<{ bytesLeft: number; refusal: () => AppError } | null> {
    const q = await this.repo.quotas(projectId);
    return q ? this.bytesRoom(q, projectId) : null;
  }

  private async bytesRoom(q: { name: string; maxStoredBytes: bigint | null }, projectId: string) {
    if (q.maxStoredBytes === null) return null;
    const limit = Number(q.maxStoredBytes);
    const used = await this.repo.storedBytes(projectId);
    return { bytesLeft: Math.max(0, limit - used), refusal: () => overBytes(q.name, limit, used) };
  }

  /**
   * Refuses one more queued job past the project's concurrent-jobs quota (429, Retry-After), and its uploaded
   * input's `inputBytes` past maxStoredBytes (413). Call it inside the transaction that inserts or re-queues the
   * job: it locks the project's row.
   */
  async admitJob(projectId: string, inputBytes = 0): Promise<void> {
    // One read of the quotas and one lock of the row serve both checks (admitVersion does the same).
    const head = await this.repo.quotas(projectId);
    if (!head || (head.maxConcurrentJobs === null && (head.maxStoredBytes === null || inputBytes === 0))) return;
    const q = await this.repo.lockQuotas(projectId);
    if (!q) return;
    const refusal = await this.jobsOver(q, projectId);
    if (refusal) throw refusal;
    await this.fitBytes(q, projectId, inputBytes);
  }

  /**
   * As admitJob (inside the inserting transaction), but answers whether the job may go: a schedule's tick leaves
   * the rest for its next one.
   */
  async tryAdmitJob(projectId: string): Promise<boolean> {
    return (await this.jobRefusal(projectId)) === null;
  }

  /** admitJob's check without the lock, before work that precedes the transaction (an input upload). */
  async checkJobRoom(projectId: string): Promise<void> {
    const refusal = await this.jobRefusal(projectId, false);
    if (refusal) throw refusal;
  }

  private async jobRefusal(projectId: string, lock = true): Promise<AppError | null> {
    const head = await this.repo.quotas(projectId);
    if (!head || head.maxConcurrentJobs === null) return null;
    const q = lock ? await this.repo.lockQuotas(projectId) : head;
    return q ? this.jobsOver(q, projectId) : null;
  }

  /** The 429 when the project already has maxConcurrentJobs jobs queued or running; null when one more fits. */
  private async jobsOver(
    q: { name: string; maxConcurrentJobs: number | null },
    projectId: string,
  ): Promise<AppError | null> {
    if (q.maxConcurrentJobs === null) return null;
    const used = await this.repo.activeJobs(projectId);
    if (used < q.maxConcurrentJobs) return null;
    return new AppError(
      'RATE_LIMITED',
      `Project ${q.name} has ${used} jobs queued or running, its quota (maxConcurrentJobs ${q.maxConcurrentJobs}); ` +
        `retry when one finishes`,
      { quota: 'maxConcurrentJobs', limit: q.maxConcurrentJobs, used, retryAfterSeconds: JOB_RETRY_AFTER_SECONDS },
    );
  }

  async usage(projectId: string): Promise<TProjectUsage> {
    const [versions, storedBytes, concurrentJobs] = await Promise.all([
      this.repo.versionCount(projectId),
      this.repo.storedBytes(projectId),
      this.repo.activeJobs(projectId),
    ]);
    return { versions, storedBytes, concurrentJobs };
  }
}

const overVersions = (project: string, limit: number, used: number) =>
  new AppError(
    'CONFLICT',
    `Project ${project} is at its quota of ${limit} model versions (maxVersions); delete versions or ask a ` +
      'platform admin to raise it',
    { quota: 'maxVersions', limit, used },
  );

const overBytes = (project: string, limit: number, used: number) =>
  new AppError(
    'PAYLOAD_TOO_LARGE',
    `Project ${project} stores ${used} of its ${limit}-byte quota (maxStoredBytes); this upload does not fit. ` +
      'Nothing was stored',
    { quota: 'maxStoredBytes', limit, used },
  );
