import { Inject, Injectable, Optional } from '@nestjs/common';
import { DEFAULT_SANDBOX_LIMITS, runInSandbox, SANDBOX_LIMITS, type SandboxLimits } from '../engine/sandbox.js';
import type { InspectedModel, ModelInspector } from './ports.js';

export { mergeSignature } from '../engine/signature-override.js';

/**
 * The registry's ModelInspector, on the engine. Every look at an uploaded model (reading, loading, warming,
 * running rows) happens in a child process with a memory cap and a time limit (../engine/sandbox.ts), so a
 * hostile or broken model fails its validation instead of taking the worker down.
 */
@Injectable()
export class OnnxModelInspector implements ModelInspector {
  constructor(@Optional() @Inject(SANDBOX_LIMITS) private readonly limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS) {}

  async inspect(bytes: Buffer, override?: Record<string, unknown>, sampleRows?: unknown[]): Promise<InspectedModel> {
    const { result, servingBytes } = await runInSandbox(
      bytes,
      { task: 'validate', override, rows: sampleRows },
      this.limits,
    );
    return {
      signature: result.signature!,
      warnings: result.warnings ?? [],
      servingBytes,
      sampleOutput: result.sampleOutput,
    };
  }

  async runSamples(bytes: Buffer, signature: Record<string, unknown>, rows: unknown[]): Promise<unknown> {
    return (await runInSandbox(bytes, { task: 'run', signature, rows }, this.limits)).result.outputs;
  }
}
