import type * as ort from 'onnxruntime-node';
import type { TSignature } from '@modelyard/contracts';
import { feedsFromRecords, feedsFromRowArrays, rowWidth } from '../serving/tensors.js';

/**
 * What a version is warmed with when it loads: its sample rows, or one row of zeros when every input has a fixed
 * width (not strings); null when neither fits. The serving engine warms with this, and validation warms the same
 * way in its child process, so a model whose warm-up never ends or exhausts memory fails there, not in an api.
 * Throws when the sample rows do not fit the signature.
 */
export function warmFeeds(signature: TSignature, samples: readonly unknown[] | null): Record<string, ort.Tensor> | null {
  const limits = { maxRows: 1000 };
  if (samples?.length) {
    return samples.every((r) => r && typeof r === 'object' && !Array.isArray(r))
      ? feedsFromRecords(signature, samples as unknown[], limits)
      : feedsFromRowArrays(signature, samples as unknown[], limits);
  }
  if (signature.inputs.every((i) => rowWidth(i) !== undefined && i.dtype !== 'string')) {
    const width = signature.inputs.reduce((a, i) => a + rowWidth(i)!, 0);
    return feedsFromRowArrays(signature, [new Array(width).fill(0)], limits);
  }
  return null;
}
