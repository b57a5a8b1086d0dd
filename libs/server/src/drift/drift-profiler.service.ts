import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ZReferenceDataset, ZSignature, type JobPayloadParsed } from '@modelyard/contracts';
import { assertChecksum, servedArtifact, type ArtifactFacts } from '../engine/index.js';
import { AppError } from '../platform/errors.js';
import { LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { ARTIFACT_STORE, MODEL_INSPECTOR, type ArtifactStore, type ModelInspector } from '../registry/ports.js';
import { buildReferenceProfile, referenceBatch, rowsToBatch, type DriftSchema } from './drift-profile.js';
import { driftSchemaOf, float32Features, outputRecords, roundToFloat32 } from './drift-schema.js';
import { DriftRepository } from './drift.repository.js';
import { publicReason } from '../platform/public-reason.js';
import { readBytes } from '../storage/read-bytes.js';

/**
 * Reference rows run through the model to profile its outputs. The features are profiled over every row; the
 * outputs over the first this many, so a million-row reference does not become one giant tensor.
 */
export const MAX_OUTPUT_PROFILE_ROWS = 20_000;

/**
 * drift.profile: a ready version's reference dataset (stored at registration) summarised into its
 * ReferenceProfile, which every window of the version is later counted into. The columns come from the
 * signature (driftSchemaOf); the output columns are profiled from the model's own answers to the reference rows,
 * so they compare like with like with what the prediction log records.
 */
@Injectable()
export class DriftProfilerService implements JobHandler<'drift.profile'> {
  readonly job = 'drift.profile' as const;

  constructor(
    private readonly registry: RegistryRepository,
    private readonly repo: DriftRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(MODEL_INSPECTOR) private readonly inspector: ModelInspector,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle({ versionId }: JobPayloadParsed<'drift.profile'>, ctx: JobContext) {
    const v = await this.registry.findVersionById(versionId);
    if (!v || v.status !== 'ready') return { skipped: 'not a ready version' };
    const key = { versionId: v.id, model: v.model.name, number: v.number };
    if (!v.referenceUri) {
      await this.repo.upsertProfile(key, {
        status: 'failed',
        error: 'The version was registered without a reference dataset',
      });
      return { failed: 'no reference' };
    }
    const signature = ZSignature.parse(v.signature);
    const schema = driftSchemaOf(signature);
    const float32 = float32Features(signature);
    await this.repo.upsertProfile(key, { status: 'building', schema });
    try {
      const text = (
        await readBytes(await this.store.get(v.referenceUri), this.store.maxUploadBytes(), 'The reference dataset')
      ).toString('utf8');
      const parsed = ZReferenceDataset.safeParse(JSON.parse(text));
      if (!parsed.success)
        throw new AppError(
          'VALIDATION_FAILED',
          `The reference dataset is not shaped like reference.json: ${parsed.error.issues[0]?.message}`,
        );
      const dataset = parsed.data;
      const known = new Set(dataset.feature_names);
      const missing = schema.features.filter((f) => !known.has(f.name)).map((f) => f.name);
      if (missing.length === schema.features.length) {
        throw new AppError(
          'VALIDATION_FAILED',
          `The reference dataset has none of the model's features (${schema.features
            .slice(0, 5)
            .map((f) => f.name)
            .join(', ')}…)`,
        );
      }
      const profile = buildReferenceProfile(
        { features: schema.features, outputs: [] },
        roundToFloat32(referenceBatch(dataset), float32),
      );
      let note: string | null = missing.length
        ? `Not in the reference dataset (profiled as all missing): ${missing.join(', ')}`
        : null;
      if (schema.outputs.length) {
        try {
          profile.outputs = await this.outputProfile(v, signature, schema, dataset);
        } catch (e) {
          // A swapped artifact (INTERNAL) or an outage is not the model's answer: retried, then failed as a whole.
          if (!(e instanceof AppError) || e.status >= 500) throw e;
          // Features alone still make a useful profile; say why outputs are not monitored.
          schema.outputs = [];
          note = [note, `Outputs are not monitored: ${e.message}`].filter(Boolean).join('. ');
        }
      }
      // float32Features rides along in the stored schema: ad hoc datasets are rounded like the reference was.
      await this.repo.upsertProfile(key, {
        status: 'ready',
        error: note,
        schema: { ...schema, float32Features: float32 },
        profile,
        rows: dataset.rows.length,
      });
      this.log.info({ model: key.model, version: key.number, rows: dataset.rows.length }, 'drift profile built');
      return {
        model: key.model,
        version: key.number,
        rows: dataset.rows.length,
        features: schema.features.length,
        outputs: schema.outputs.length,
      };
    } catch (e) {
      const permanent = (e instanceof AppError && e.status < 500) || e instanceof SyntaxError;
      if (!permanent && ctx.attempt < ctx.maxAttempts) throw e;
      const reason = publicReason(e, 'The profile could not be built');
      await this.repo.upsertProfile(key, { status: 'failed', error: reason.slice(0, 2000), schema });
      return { failed: reason };
    }
  }

  private async outputProfile(
    v: ArtifactFacts,
    signature: ReturnType<typeof ZSignature.parse>,
    schema: DriftSchema,
    dataset: { feature_names: string[]; rows: unknown[][] },
  ) {
    // The bytes every api serves, checked as the engine checks them before loading: a swapped artifact is refused.
    const { uri, sha256 } = servedArtifact(v);
    const bytes = await readBytes(await this.store.get(uri), this.store.maxUploadBytes(), 'The model artifact');
    assertChecksum(bytes, sha256, uri);
    const rows = dataset.rows.slice(0, MAX_OUTPUT_PROFILE_ROWS);
    const records = rows.map((r) => Object.fromEntries(dataset.feature_names.map((n, i) => [n, r[i]])));
    const outputs = (await this.inspector.runSamples(bytes, signature, records)) as Record<string, unknown>;
    const outSchema = { features: [], outputs: schema.outputs };
    const batch = rowsToBatch(
      outSchema,
      outputRecords(outputs, rows.length).map((o) => ({ features: {}, outputs: o })),
    );
    return buildReferenceProfile(outSchema, batch).outputs;
  }
}
