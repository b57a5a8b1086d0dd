/**
 * The one file that imports onnxruntime-node. Everything else, in the engine and outside it, takes the runtime's
 * types and its Tensor from here (outside the engine: through ./index.ts, or its modules one by one where loading the
 * whole engine costs: the batch pool's threads), so the boundaries test can hold the
 * runtime to this folder and a change of runtime version or binding touches one place.
 */
import type { InferenceSession as OrtInferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';

export { InferenceSession, Tensor } from 'onnxruntime-node';

/**
 * A loaded model, as the engine uses one: onnxruntime's own session, or a session in a process of its own
 * (./contained-session.ts) for a model whose work a request's values can grow without bound.
 */
/** onnxruntime's session with everything it tells about a model (inspection reads its metadata). */
export type OrtSession = OrtInferenceSession;
export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Feeds, fetches: readonly string[]): Promise<Outputs>;
  release(): Promise<void>;
}
export type SessionOptions = OrtInferenceSession.SessionOptions;
/** Input name -> tensor: what a session run is fed. */
export type Feeds = Record<string, OrtTensor>;
/** Output name -> tensor: what a session run answers. */
export type Outputs = Record<string, OrtTensor>;
/** The element types onnxruntime-node's Tensor takes. */
export type TensorType = OrtTensor.Type;
