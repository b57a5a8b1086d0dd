import { ZStreamOptions, type TStreamOptions } from '@modelyard/contracts';
import type { StreamKeys } from './stream-port.js';
import { DEFAULT_PROJECT, projectOfKey } from '../tenancy/model-key.js';

/** Channel (RedisService.publish) that tells workers to re-read the stream deployments now, not at their next poll. */
export const STREAMS_CHANGED = 'streams-changed';

/**
 * A stream deployment's broker keys. Stream names live under `<REDIS_PREFIX>:streams:` (the default project's)
 * or `<REDIS_PREFIX>:streams@<project>:` (any other; "@" is in no stream or project name), so no name a user
 * picks reaches the platform's own keys or another project's streams. The group is named by the deployment's id:
 * a deployment deleted and created again under the same name starts a group of its own.
 */
export function streamKeys(
  redisPrefix: string,
  row: { id: string; source: string; sink: string; deadLetter: string; model: { name: string } },
): StreamKeys {
  const project = projectOfKey(row.model.name);
  const base = project === DEFAULT_PROJECT ? `${redisPrefix}:streams:` : `${redisPrefix}:streams@${project}:`;
  const key = (name: string) => base + name;
  return {
    source: key(row.source),
    sink: key(row.sink),
    deadLetter: key(row.deadLetter),
    group: `modelyard-${row.id}`,
  };
}

/** Stored options with today's defaults filled in (a row written before an option existed lacks it). */
export function streamOptions(stored: unknown): TStreamOptions {
  const r = ZStreamOptions.safeParse(stored ?? {});
  return r.success ? r.data : ZStreamOptions.parse({});
}
