import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  ZBatchJobSpec,
  ZScheduleSpec,
  type JobPayloadParsed,
  type TSchedule,
  type TScheduleSpec,
} from '@modelyard/contracts';
import { DomainEvents } from '../events/domain-events.js';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { checkStorageReference } from '../tenancy/storage-scope.js';
import { inProject, keyFor, modelNameOf } from '../tenancy/model-key.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError, conflict, notFound } from '../platform/errors.js';
import { outageError, unavailableDependency } from '../platform/outage.js';
import { validate } from '../platform/validate.js';
import { LOGGER } from '../platform/tokens.js';
import { JobProducer } from '../queue/job-producer.js';
import { ProjectQuotas } from '../projects/quotas.service.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { ServingService } from '../serving/serving.service.js';
import { StorageService } from '../storage/storage.service.js';
import { batchOptions, jobFolder } from './batch-options.js';
import { formatOf } from './jobs.service.js';
import { JobsRepository, type ScheduleRow } from './jobs.repository.js';
import { asJson } from '../db/json.js';

/** Files a schedule run picks up at most (the rest wait for the next run). */
const MAX_FILES_PER_RUN = 100;
/** Our own outputs beside the inputs must never be scored as inputs. */
const OUTPUT_NAME = /\.[0-9a-f]{8}\.(predictions|errors)\.(csv|jsonl)$/;

/**
 * Cron schedules that score new files under a storage prefix with the model's production version at the time
 * of the run. Each is a BullMQ job scheduler (`schedule-<id>`), so only one worker fires per tick however many
 * run; pausing removes the scheduler and keeps the row. Each input is claimed once (ScheduledInput), so a file
 * is scored once even if two runs overlap.
 */
@Injectable()
export class SchedulesService implements JobHandler<'schedule.run'> {
  readonly job = 'schedule.run' as const;

  constructor(
    private readonly repo: JobsRepository,
    private readonly registry: RegistryRepository,
    private readonly serving: ServingService,
    private readonly storage: StorageService,
    private readonly producer: JobProducer,
    private readonly events: DomainEvents,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly quotas: ProjectQuotas,
  ) {}

  async create(actor: Principal, input: TScheduleSpec): Promise<TSchedule> {
    authorize(actor, 'jobs.write');
    const spec = validate(ZScheduleSpec, input);
    authorizeModel(actor, spec.model);
    spec.model = keyFor(actor, spec.model);
    const m = await this.registry.findModel(spec.model);
    if (!m) throw notFound(`Model ${spec.model}`);
    const probe = `${spec.inputPrefix.replace(/\/?$/, '/')}x`;
    checkStorageReference(actor, this.storage.locate(probe), 'inputPrefix', this.storage.importPrefixes());
    await this.storage.list(spec.inputPrefix, 1); // refuses a prefix we cannot read
    const id = randomUUID();
    let row: ScheduleRow;
    try {
      row = await this.repo.createSchedule({
        id,
        name: spec.name,
        modelId: m.id,
        cron: spec.cron,
        inputPrefix: spec.inputPrefix,
        options: asJson({ output: spec.output, store: spec.store }),
        createdByKind: actor.kind,
        createdById: actor.kind === 'system' ? null : actor.id,
        createdByName: actor.name,
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Model ${spec.model} already has a schedule named "${spec.name}"`);
      throw e;
    }
    try {
      await this.arm(row);
    } catch (e) {
      await this.repo.deleteSchedule(id);
      // Redis being down is no fault of the cron: that is a 503 to retry, not a 400 to fix.
      const down = unavailableDependency(e);
      if (down) throw outageError(down);
      throw new AppError(
        'VALIDATION_FAILED',
        `The cron expression "${spec.cron}" is not valid: ${(e as Error).message}`,
      );
    }
    // The row and its queue entry exist before the event: a crash before this line leaves an unaudited schedule,
    // which the reconciler still runs; the creator sees the error and can look.
    await this.events.record(actor, {
      type: 'schedule.created',
      objectId: id,
      data: { model: spec.model, cron: spec.cron, inputPrefix: spec.inputPrefix },
    });
    return this.toDto(row);
  }

  async list(actor: Principal): Promise<TSchedule[]> {
    authorize(actor, 'jobs.read');
    const rows = await this.repo.listSchedules(actor.project?.id);
    return Promise.all(
      rows
        .filter((r) => !actor.modelAllowList.length || actor.modelAllowList.includes(modelNameOf(r.model.name)))
        .map((r) => this.toDto(r)),
    );
  }

  async setPaused(actor: Principal, id: string, paused: boolean): Promise<TSchedule> {
    authorize(actor, 'jobs.write');
    const row = await this.find(actor, id);
    const next = await this.events.change(
      actor,
      () => this.repo.updateSchedule(id, { paused }),
      () => ({
        type: paused ? 'schedule.paused' : 'schedule.resumed',
        objectId: id,
        data: { model: row.model.name },
      }),
    );
    // The queue follows the row; the reconciler re-arms or drops scheduler entries that disagree with Postgres.
    if (paused) await this.producer.queue('batch').removeJobScheduler(schedulerId(id));
    else await this.arm(next);
    return this.toDto(next);
  }

  async remove(actor: Principal, id: string): Promise<void> {
    authorize(actor, 'jobs.write');
    const row = await this.find(actor, id);
    await this.producer.queue('batch').removeJobScheduler(schedulerId(id));
    await this.events.change(
      actor,
      () => this.repo.deleteSchedule(id),
      () => ({ type: 'schedule.deleted', objectId: id, data: { model: row.model.name } }),
    );
  }

  /** Fires the schedule once now, besides its cron ticks. */
  async runNow(actor: Principal, id: string): Promise<TSchedule> {
    authorize(actor, 'jobs.write');
    const row = await this.find(actor, id);
    await this.producer.enqueue(
      'schedule.run',
      { scheduleId: id },
      { jobId: `schedule-run-${id}-${Date.now().toString(36)}` },
    );
    await this.events.record(actor, { type: 'schedule.run', objectId: id, data: { model: row.model.name } });
    return this.toDto(row);
  }

  /** A tick: turn every unclaimed input file under the prefix into a batch job on the current production version. */
  async handle({ scheduleId }: JobPayloadParsed<'schedule.run'>, _ctx: JobContext) {
    const s = await this.repo.findSchedule(scheduleId);
    if (!s || s.paused) return { skipped: true };
    const version = await this.serving.versionNumber(s.model.name, {}, { fresh: true });
    const seen = await this.repo.scheduledInputs(s.id);
    const files = (await this.storage.list(s.inputPrefix, 10_000))
      .filter((f) => /\.(csv|jsonl|ndjson)$/i.test(f.key) && !OUTPUT_NAME.test(f.key) && !seen.has(f.uri))
      .slice(0, MAX_FILES_PER_RUN);
    const opts = s.options as {
      output?: { columns: 'all' | 'id'; idColumn?: string };
      store?: { entityColumn: string };
    };
    const created: string[] = [];
    const projectId = (await this.registry.findModel(s.model.name))?.projectId;
    let waiting = 0;
    for (const f of files) {
      const jobId = randomUUID();
      // The quota is counted and the job inserted in one transaction, on the project's locked row (as the api's
      // submissions do): concurrent ticks and submissions are admitted one after the other, never past the quota.
      // At the quota the other files stay unclaimed for a later tick (a schedule has no caller to answer 429 to).
      const outcome = await this.events.transaction(async () => {
        if (projectId && !(await this.quotas.tryAdmitJob(projectId))) return 'full';
        if (!(await this.repo.claimInput(s.id, f.uri, jobId))) return 'claimed';
        const format = formatOf(f.key);
        const options = batchOptions(
          // What the schedule stored was a valid spec when it was created; parsing again fills the defaults.
          validate(ZBatchJobSpec, {
            model: modelNameOf(s.model.name),
            output: opts.output ?? { columns: 'all' },
            store: opts.store,
          }),
          format,
          this.storage.backendOf(f.uri),
          `${f.key.replace(/\.[^./]*$/, '')}.${jobId.slice(0, 8)}.`,
          jobFolder(s.model.name, jobId),
        );
        await this.repo.create({
          id: jobId,
          type: 'batch_score',
          modelId: s.modelId,
          modelName: s.model.name,
          version,
          format,
          options: asJson(options),
          inputUri: f.uri,
          scheduleId: s.id,
          createdByKind: s.createdByKind,
          createdById: s.createdById,
          createdByName: s.createdByName,
        });
        return 'created';
      });
      if (outcome === 'full') {
        waiting = files.length - created.length;
        break;
      }
      if (outcome === 'claimed') continue;
      await this.producer.enqueue('batch.score', { jobId }, { jobId: `batch-${jobId}-0` });
      created.push(jobId);
    }
    await this.repo.updateSchedule(s.id, { lastRunAt: new Date() });
    if (created.length)
      this.log.info({ schedule: s.id, model: s.model.name, jobs: created.length }, 'schedule queued batch jobs');
    if (waiting)
      this.log.info({ schedule: s.id, model: s.model.name, waiting }, 'project at its concurrent-jobs quota');
    return { jobs: created, ...(waiting ? { waiting } : {}) };
  }

  /** Re-creates the BullMQ scheduler of every unpaused schedule whose scheduler is gone (Redis lost it). */
  async rearmMissing(): Promise<string[]> {
    const rearmed: string[] = [];
    for (const row of await this.repo.listSchedules()) {
      if (row.paused || (await this.producer.queue('batch').getJobScheduler(schedulerId(row.id)))) continue;
      await this.arm(row);
      rearmed.push(row.id);
    }
    return rearmed;
  }

  private async arm(row: ScheduleRow) {
    await this.producer
      .queue('batch')
      .upsertJobScheduler(
        schedulerId(row.id),
        { pattern: row.cron },
        { name: 'schedule.run', data: { scheduleId: row.id } },
      );
  }

  private async find(actor: Principal, id: string): Promise<ScheduleRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.findSchedule(id) : null;
    if (!row || !inProject(actor, row.model.name)) throw notFound(`Schedule ${id}`);
    authorizeModel(actor, row.model.name);
    return row;
  }

  private async toDto(r: ScheduleRow): Promise<TSchedule> {
    const next = r.paused
      ? null
      : await this.producer
          .queue('batch')
          .getJobScheduler(schedulerId(r.id))
          .catch(() => null);
    return {
      id: r.id,
      name: r.name,
      model: modelNameOf(r.model.name),
      cron: r.cron,
      inputPrefix: r.inputPrefix,
      paused: r.paused,
      createdBy: r.createdByName,
      createdAt: r.createdAt.toISOString(),
      lastRunAt: r.lastRunAt?.toISOString() ?? null,
      nextRunAt: next?.next ? new Date(next.next).toISOString() : null,
    };
  }
}

const schedulerId = (id: string) => `schedule-${id}`;
