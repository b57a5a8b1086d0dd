/** One loaded version, as the eviction policy sees it. */
export interface LoadedEntry {
  key: string;
  bytes: number;
  lastUsed: number;
  /** Production, aliased, pilot or silent: never evicted to make room. */
  deployed: boolean;
}

/**
 * Which loaded versions to unload so the artifacts held stay within `capBytes`: the least recently used first,
 * never a deployed version and never `keep` (the one just loaded for a caller). When only deployed versions are
 * left the total may stay above the cap: what the platform serves to everyone is not given up for a cap.
 */
export function pickEvictions(loaded: readonly LoadedEntry[], capBytes: number, keep: string): string[] {
  let total = loaded.reduce((a, e) => a + e.bytes, 0);
  const out: string[] = [];
  for (const e of [...loaded].filter((x) => !x.deployed && x.key !== keep).sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= capBytes) break;
    out.push(e.key);
    total -= e.bytes;
  }
  return out;
}
