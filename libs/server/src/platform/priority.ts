import { readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * Lowers this process's CPU priority to `nice` (0 = unchanged, 19 = lowest): every thread it already has (the
 * event loop, V8's and libuv's helpers, onnxruntime's), since Linux keeps a nice value per thread and only threads
 * started later inherit their creator's. Raising the value needs no privilege. Best effort: a thread that ended
 * meanwhile, or a platform without /proc, keeps what it had. Returns the threads changed.
 */
export function lowerProcessPriority(nice: number): number {
  if (nice <= 0) return 0;
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [0];
  }
  let changed = 0;
  for (const tid of tids) {
    try {
      if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
      changed++;
    } catch {
      /* gone, or not ours to change */
    }
  }
  return changed;
}

/**
 * Lowers the calling thread's priority only (a worker_threads thread doing background work: the process's other
 * threads, the event loop serving requests among them, keep theirs). Linux: /proc/thread-self names the thread's
 * id, which setpriority takes like a process id. False where that is not available.
 */
export function lowerThreadPriority(nice: number): boolean {
  if (nice <= 0) return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!(tid > 0)) return false;
    os.setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
