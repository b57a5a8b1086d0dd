/**
 * The validation child process (see ./sandbox.ts): everything that touches an uploaded model for the first
 * time runs here, under a memory cap and a time limit, so a model that crashes onnxruntime, never finishes or
 * allocates without bound takes this process down and not the worker. Its working directory is the per-run folder
 * and its environment is empty: no secrets, no database URL.
 *
 * argv[2] is the run folder: `model/model.onnx` and `request.json` in, `result.json` (and `serving.onnx`) out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TSignature } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { mergeSignature } from './signature-override.js';
import { prepareModel } from './inspect.js';
import { runSamples, type SampleRow } from './runner.js';
import type { SandboxRequest, SandboxResult } from './sandbox.js';
import { createSession } from './session.js';
import { warmFeeds } from './tensors.js';

async function handle(dir: string, req: SandboxRequest): Promise<SandboxResult> {
  const bytes = readFileSync(path.join(dir, 'model', 'model.onnx'));
  if (req.task === 'run') {
    const session = await createSession(bytes);
    try {
      return {
        ok: true,
        outputs: await runSamples(session, req.signature as unknown as TSignature, req.rows as SampleRow[]),
      };
    } finally {
      await session.release();
    }
  }
  const prepared = await prepareModel(bytes);
  const signature = mergeSignature(prepared.signature, req.override);
  const served = prepared.servingBytes ?? bytes;
  if (prepared.servingBytes) writeFileSync(path.join(dir, 'serving.onnx'), prepared.servingBytes);
  // The first load, as an api process will do it: load the served bytes and warm them. The warm-up's own errors
  // are ignored as serving ignores them; only a run that exhausts the limits (the parent kills us) matters.
  const session = await createSession(served, { logSeverityLevel: 4 });
  try {
    const rows = req.rows?.length ? req.rows : null;
    if (!rows) {
      const feeds = (() => {
        try {
          return warmFeeds(signature, null);
        } catch {
          return null;
        }
      })();
      if (feeds)
        await session
          .run(
            feeds,
            signature.outputs.map((o) => o.name),
          )
          .catch(() => undefined);
    }
    const sampleOutput = rows ? await runSamples(session, signature, rows as SampleRow[]) : undefined;
    return {
      ok: true,
      signature: signature as unknown as Record<string, unknown>,
      warnings: prepared.warnings,
      servingFile: prepared.servingBytes ? 'serving.onnx' : undefined,
      sampleOutput,
    };
  } finally {
    await session.release();
  }
}

const dir = process.argv[2]!;
let result: SandboxResult;
try {
  result = await handle(dir, JSON.parse(readFileSync(path.join(dir, 'request.json'), 'utf8')) as SandboxRequest);
} catch (e) {
  result =
    e instanceof AppError
      ? { ok: false, code: e.code, message: e.message }
      : {
          ok: false,
          code: 'VALIDATION_FAILED',
          message: `The model could not be loaded or run: ${(e as Error)?.message ?? String(e)}`,
        };
}
writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result));
// onnxruntime's threads would keep the process alive a moment longer; the answer is written.
process.exit(0);
