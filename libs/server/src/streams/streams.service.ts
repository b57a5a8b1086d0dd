import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  ZCreateStreamRequest,
  ZRewindStreamRequest,
  ZStreamOptions,
  ZUpdateStreamRequest,
  type DomainEventInput,
  type TCreateStreamRequest,
  type TRewindStreamRequest,
  type TStreamDeployment,
  type TStreamStats,
  type TUpdateStreamRequest,
} from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { isUniqueViolation } from '../db/errors.js';
import { asJson } from '../db/json.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError, conflict, notFound } from '../platform/errors.js';
import { outageError } from '../platform/outage.js';
import { RedisService } from '../platform/redis.service.js';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { validate } from '../platform/validate.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { GroupGone, type StreamPort, type StreamPosition } from './stream-port.js';
import { STREAMS_CHANGED, streamKeys, streamOptions } from './stream-keys.js';
import { StreamsRepository, type StreamRow } from './streams.repository.js';

export const STREAM_PORT = Symbol('STREAM_PORT');

/** Stats are read from the broker with each answer, but never hold the answer up for long. */
const STATS_TIMEOUT_MS = 1_000;

/**
 * Stream deployments (issue 19): create, list, pause, resume, change, rewind and delete. Rows are the truth the
 * workers follow (`StreamRunner` re-reads them every few seconds and on `streams-changed`); the consumer group
 * is created here, so a deployment's starting point is fixed when it is created, whatever worker starts first.
 */
@Injectable()
export class StreamsService {
  constructor(
    private readonly repo: StreamsRepository,
    private readonly registry: RegistryRepository,
    private readonly events: DomainEvents,
    private readonly redis: RedisService,
    @Inject(STREAM_PORT) private readonly port: StreamPort,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(actor: Principal, model: string, input: TCreateStreamRequest): Promise<TStreamDeployment> {
    authorize(actor, 'jobs.write');
    authorizeModel(actor, model);
    model = keyFor(actor, model);
    const spec = validate(ZCreateStreamRequest, input);
    const deadLetter = spec.deadLetter ?? `${spec.sink}.dead`;
    const names = [spec.source, spec.sink, deadLetter];
    if (new Set(names).size !== 3)
      throw new AppError('VALIDATION_FAILED', 'source, sink and dead-letter streams must be three different streams');
    const m = await this.registry.findModel(model);
    if (!m) throw notFound(`Model ${model}`);
    let row: StreamRow;
    try {
      row = await this.repo.create({
        modelId: m.id,
        name: spec.name,
        source: spec.source,
        sink: spec.sink,
        deadLetter,
        options: asJson(spec.options),
        createdByKind: actor.kind,
        createdById: actor.kind === 'system' ? null : actor.id,
        createdByName: actor.name,
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Model ${model} already has a stream deployment named "${spec.name}"`);
      throw e;
    }
    try {
      await this.port.ensureGroup(this.keys(row), spec.startAt);
    } catch (e) {
      // No group, no deployment: the row goes, and Redis being down is a 503 to retry.
      await this.repo.delete(row.id);
      this.log.warn({ err: e, stream: spec.name, model }, 'could not create the consumer group');
      throw e instanceof Error && /WRONGTYPE/.test(e.message)
        ? new AppError('VALIDATION_FAILED', `"${spec.source}" holds something other than a stream`)
        : outageError('queue');
    }
    await this.events.record(actor, this.event(row, 'stream.created', 'created', { startAt: spec.startAt }));
    await this.announce();
    return this.toDto(row);
  }

  async list(actor: Principal, model?: string): Promise<TStreamDeployment[]> {
    authorize(actor, 'jobs.read');
    let modelId: string | undefined;
    if (model !== undefined) {
      authorizeModel(actor, model);
      const m = await this.registry.findModel(keyFor(actor, model));
      if (!m) throw notFound(`Model ${model}`);
      modelId = m.id;
    }
    const rows = (await this.repo.list(modelId, actor.project?.id)).filter(
      (r) => !actor.modelAllowList.length || actor.modelAllowList.includes(modelNameOf(r.model.name)),
    );
    return Promise.all(rows.map((r) => this.toDto(r)));
  }

  async get(actor: Principal, model: string, name: string): Promise<TStreamDeployment> {
    authorize(actor, 'jobs.read');
    return this.toDto(await this.find(actor, model, name));
  }

  async update(actor: Principal, model: string, name: string, input: TUpdateStreamRequest) {
    authorize(actor, 'jobs.write');
    const patch = validate(ZUpdateStreamRequest, input);
    const row = await this.find(actor, model, name);
    const before = streamOptions(row.options);
    const options = patch.options ? validate(ZStreamOptions, { ...before, ...patch.options }) : before;
    const events: DomainEventInput[] = [];
    if (patch.paused !== undefined && patch.paused !== row.paused)
      events.push(
        this.event(row, patch.paused ? 'stream.paused' : 'stream.resumed', patch.paused ? 'paused' : 'resumed'),
      );
    if (patch.options) events.push(this.event(row, 'stream.updated', 'updated', { before, after: options }));
    const next = events.length
      ? await this.events.change(
          actor,
          () => this.repo.update(row.id, { paused: patch.paused ?? row.paused, options: asJson(options) }),
          () => events,
        )
      : row;
    await this.announce();
    return this.toDto(next);
  }

  /** Records after the position are delivered again (at-least-once consumers de-duplicate by `source_id`). */
  async rewind(actor: Principal, model: string, name: string, input: TRewindStreamRequest) {
    authorize(actor, 'jobs.write');
    const body = validate(ZRewindStreamRequest, input);
    const row = await this.find(actor, model, name);
    let to: StreamPosition;
    if ('fromId' in body) to = { id: body.fromId.includes('-') ? body.fromId : `${body.fromId}-0` };
    else to = { time: Date.parse(body.fromTime) };
    try {
      await this.port.rewind(this.keys(row), to);
    } catch (e) {
      if (e instanceof GroupGone)
        throw new AppError('NOT_READY', `The consumer group of "${name}" is gone from Redis; the workers recreate it`);
      if (e instanceof Error && /Invalid stream ID/i.test(e.message))
        throw new AppError('VALIDATION_FAILED', `"${'fromId' in body ? body.fromId : body.fromTime}" is no stream id`);
      throw outageError('queue');
    }
    await this.events.record(actor, this.event(row, 'stream.rewound', 'rewound', body));
    return this.toDto(row);
  }

  async remove(actor: Principal, model: string, name: string): Promise<void> {
    authorize(actor, 'jobs.write');
    const row = await this.find(actor, model, name);
    await this.events.change(
      actor,
      () => this.repo.delete(row.id),
      () => this.event(row, 'stream.deleted', 'deleted'),
    );
    await this.announce();
    // The workers stop at their next look at the rows; the group (and its pending list) goes now. A Redis outage
    // leaves it behind, which costs a few keys and nothing else: no row points at it.
    await this.port
      .dropGroup(this.keys(row))
      .catch((err: unknown) => this.log.warn({ err, stream: name, model }, 'consumer group left behind'));
  }

  keys(row: Parameters<typeof streamKeys>[1]) {
    return streamKeys(this.cfg.redis.prefix, row);
  }

  private async find(actor: Principal, model: string, name: string): Promise<StreamRow> {
    authorizeModel(actor, model);
    const m = await this.registry.findModel(keyFor(actor, model));
    if (!m) throw notFound(`Model ${model}`);
    const row = await this.repo.find(m.id, name);
    if (!row) throw notFound(`Stream deployment "${name}" of model ${model}`);
    return row;
  }

  private event(
    row: StreamRow,
    type: Extract<DomainEventInput['type'], `stream.${string}`>,
    action: string,
    extra: Record<string, unknown> = {},
  ): DomainEventInput {
    return { type, objectId: row.id, data: { model: row.model.name, stream: row.name, action, ...extra } };
  }

  private async announce() {
    await this.redis.publish(STREAMS_CHANGED, '{}');
  }

  private async stats(row: StreamRow): Promise<TStreamStats | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), STATS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.port.stats(this.keys(row)).catch(() => null), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async toDto(row: StreamRow): Promise<TStreamDeployment> {
    return {
      id: row.id,
      model: row.model.name,
      name: row.name,
      source: row.source,
      sink: row.sink,
      deadLetter: row.deadLetter,
      keys: this.keys(row),
      paused: row.paused,
      options: streamOptions(row.options),
      createdBy: row.createdByName,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      stats: await this.stats(row),
    };
  }
}
