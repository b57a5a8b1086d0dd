import { invalidParameter } from './mlflow-filter.js';

/**
 * Paths of MLflow's proxied artifacts (`mlflow-artifacts:/<experiment>/<run>/artifacts/<file>`), checked before
 * anything touches storage: relative, `/`-separated, no empty, `.` or `..` segment, no backslash or control
 * character, and always inside one run's `artifacts` folder. They become storage keys under KEY_PREFIX.
 */
export const KEY_PREFIX = 'mlflow-artifacts';
const MAX_PATH = 1024;
const MAX_DEPTH = 32;

export interface ArtifactPath {
  experimentId: string;
  runId: string;
  /** Inside the run's artifacts folder; '' for the folder itself. */
  rest: string;
}

export function parseArtifactPath(raw: string): ArtifactPath {
  const path = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  const bad = (why: string) => invalidParameter(`Invalid artifact path ${JSON.stringify(raw.slice(0, 200))}: ${why}`);
  if (path.length > MAX_PATH) throw bad(`longer than ${MAX_PATH} characters`);
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw bad('control characters and backslashes are not allowed');
  const segments = path.split('/');
  if (segments.length > MAX_DEPTH) throw bad(`deeper than ${MAX_DEPTH} folders`);
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.length > 255))
    throw bad('empty, "." and ".." segments are not allowed');
  const [experimentId, runId, folder, ...rest] = segments;
  if (
    !experimentId ||
    !/^\d{1,19}$/.test(experimentId) ||
    !runId ||
    !/^[0-9a-f]{32}$/.test(runId) ||
    folder !== 'artifacts'
  )
    throw bad("artifacts live under '<experiment_id>/<run_id>/artifacts/'");
  return { experimentId, runId, rest: rest.join('/') };
}

export const artifactKey = (p: ArtifactPath) =>
  [KEY_PREFIX, p.experimentId, p.runId, 'artifacts', ...(p.rest ? [p.rest] : [])].join('/');

export const runArtifactUri = (experimentId: string, runId: string) =>
  `mlflow-artifacts:/${experimentId}/${runId}/artifacts`;

/**
 * The artifact path a model version's `source` names: `mlflow-artifacts:/<path>` (with or without a host, as
 * the client writes it), or the same behind a tracking server URL. `runs:/` sources are resolved by the caller.
 */
export function artifactPathOfSource(source: string): string | null {
  const m =
    /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.+)$/.exec(source) ??
    /^https?:\/\/[^/]+\/api\/2\.0\/mlflow-artifacts\/artifacts\/(.+)$/.exec(source);
  return m ? m[1]! : null;
}
