/**
 * The engine: the only code that touches onnxruntime (./ort.ts is its one import). Everything outside this folder
 * that loads, feeds or runs a model comes through here: the verified artifact cache, the session factory with
 * the hostile-model hardening, the validation sandbox, the one tensor builder, the runner and the version pool.
 */
export { Tensor, type Feeds, type Outputs, type Session, type TensorType } from './ort.js';
export * from './artifact-cache.js';
export * from './eviction.js';
export * from './inspect.js';
export * from './micro-batcher.js';
export * from './run-gate.js';
export * from './runner.js';
export * from './sandbox.js';
export * from './side-runner.js';
export * from './session.js';
export * from './tensors.js';
export * from './version-pool.js';
