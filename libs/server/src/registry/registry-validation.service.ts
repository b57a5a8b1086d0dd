import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import { RegistryRepository } from './registry.repository.js';
import { toVersionResponse } from './registry.mappers.js';
import { ARTIFACT_STORE, MODEL_INSPECTOR, type ArtifactStore, type ModelInspector, type StorageKind } from './ports.js';
import { AppError } from '../platform/errors.js';
import { LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { SYSTEM } from '../auth/principal.js';
import { DomainEvents } from '../events/domain-events.js';
import { asJson } from '../db/json.js';
import { publicReason } from '../platform/public-reason.js';
import { modelFolder } from './registry.service.js';
import { readBytes } from '../storage/read-bytes.js';

/** Validation acts for the platform: its history rows and events name it. */
const VALIDATION = { kind: 'system', id: null, name: 'validation' };
const VALIDATOR = { ...SYSTEM, name: 'validation' };

/**
 * The worker's half of registration: load the artifact in onnxruntime, read its signature (overrides win),
 * make a servable copy when needed (ZipMap), run the sample rows. A version becomes `ready` only when all of
 * that worked; otherwise `failed` with the reason, and blobs we wrote are removed so nothing half-registered
 * lingers. Infrastructure errors (storage down) are retried by BullMQ; bad models are not.
 */
@Injectable()
export class RegistryValidationService implements JobHandler<'registry.validate'> {
  readonly job = 'registry.validate' as const;

  constructor(
    private readonly repo: RegistryRepository,
    private readonly events: DomainEvents,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(MODEL_INSPECTOR) private readonly inspector: ModelInspector,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle({ versionId }: JobPayloadParsed<'registry.validate'>, ctx: JobContext) {
    const v = await this.repo.findVersionById(versionId);
    if (!v || v.status !== 'pending') return { skipped: true };
    /** The serving copy this run wrote: removed when the version does not become ready with it. */
    let servingWritten: string | null = null;
    try {
      const bytes = await readBytes(await this.store.get(v.storageUri), this.store.maxUploadBytes(), 'The artifact');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (v.sha256 && v.sha256 !== sha256)
        throw new AppError('VALIDATION_FAILED', `Checksum mismatch: stored ${v.sha256}, read ${sha256}`);
      const samples = Array.isArray(v.sampleInput) && v.sampleInput.length ? (v.sampleInput as unknown[]) : undefined;
      const inspected = await this.inspector.inspect(
        bytes,
        (v.signatureOverride as Record<string, unknown> | null) ?? undefined,
        samples,
      );
      let servingUri = v.storageUri;
      let servingSha256: string | null = null;
      if (inspected.servingBytes) {
        const backend = v.ownedArtifact ? (v.storageBackend as StorageKind) : this.store.defaultBackend();
        const folder = v.ownedArtifact ? v.storageUri.replace(/\/model\.onnx$/, '') : null;
        const key =
          folder && folder !== v.storageUri
            ? `${this.store.locate(folder).key}/serving.onnx`
            : `${modelFolder(v.model.name, v.id)}/serving.onnx`;
        const put = await this.store.put(backend, key, Readable.from([inspected.servingBytes]), {
          maxBytes: this.store.maxUploadBytes(),
        });
        servingUri = put.uri;
        servingWritten = put.uri;
        // Serving processes verify their cached or downloaded copy against this (ServingService.artifactBytes).
        servingSha256 = put.sha256;
      }
      const sampleOutput = inspected.sampleOutput;
      const settled = await this.events.transaction(async () => {
        const done = await this.repo.settlePending(v.id, {
          status: 'ready',
          failureReason: null,
          signature: asJson(inspected.signature),
          servingUri,
          servingSha256,
          sha256,
          sizeBytes: BigInt(bytes.length),
          sampleOutput: asJson(sampleOutput) ?? undefined,
          readyAt: new Date(),
          metadata: inspected.warnings.length
            ? { ...(v.metadata as object), validationWarnings: inspected.warnings }
            : undefined,
        });
        if (!done) return false;
        await this.repo.addHistory(v.modelId, VALIDATION, {
          versionNumber: v.number,
          kind: 'status',
          from: 'pending',
          to: 'ready',
        });
        // Webhooks, the serving refresh and the drift profile (when there is a reference) follow from the event.
        await this.events.record(VALIDATOR, {
          type: 'version.ready',
          objectId: v.id,
          data: {
            model: v.model.name,
            version: v.number,
            sha256,
            signature: inspected.signature,
            hasReference: !!v.referenceUri,
          },
        });
        return true;
      });
      // The sweeper failed it meanwhile (validation took past VALIDATION_STUCK_MINUTES): its verdict stands.
      if (!settled) {
        await this.removeBlobs([servingWritten]);
        return { skipped: 'no longer pending' };
      }
      return toVersionResponse((await this.repo.findVersionById(v.id))!);
    } catch (e) {
      const permanent = e instanceof AppError && e.status < 500;
      if (!permanent && ctx.attempt < ctx.maxAttempts) throw e;
      const reason = publicReason(e, 'Validation could not complete');
      if (!(e instanceof AppError)) this.log.error({ err: e, versionId }, 'validation failed');
      await this.fail(v, reason, servingWritten);
      return { failed: reason };
    }
  }

  /**
   * pending -> failed with the reason: blobs removed, a history row, `version.failed`. Nothing happens when the
   * version is no longer pending (validation and the stuck-version sweeper may race).
   */
  async fail(
    v: NonNullable<Awaited<ReturnType<RegistryRepository['findVersionById']>>>,
    reason: string,
    servingWritten: string | null = null,
  ) {
    const settled = await this.events.transaction(async () => {
      if (
        !(await this.repo.settlePending(v.id, {
          status: 'failed',
          failureReason: reason.slice(0, 2000),
          referenceUri: null,
        }))
      )
        return false;
      await this.repo.addHistory(v.modelId, VALIDATION, {
        versionNumber: v.number,
        kind: 'status',
        from: 'pending',
        to: 'failed',
        comment: reason.slice(0, 2000),
      });
      await this.events.record(VALIDATOR, {
        type: 'version.failed',
        objectId: v.id,
        data: { model: v.model.name, version: v.number, reason },
      });
      return true;
    });
    if (!settled) return this.removeBlobs([servingWritten]);
    await this.removeBlobs([v.ownedArtifact ? v.storageUri : null, v.referenceUri, servingWritten]);
  }

  private async removeBlobs(uris: (string | null)[]) {
    for (const uri of uris) {
      if (uri)
        await this.store
          .delete(uri)
          .catch((err: unknown) => this.log.error({ err, uri }, 'could not remove the blob of a failed version'));
    }
  }
}
