import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';

/**
 * argon2 on a thread of its own at the lowest CPU priority (crypto.ts starts it). On Linux a priority is per
 * thread, and this thread is the only one doing the work (the sync calls stay on it, off libuv's shared pool), so
 * a login flood can only use the CPU that inference leaves idle: logins slow down, predictions do not.
 */
try {
  setPriority(19);
} catch {
  /* not permitted or not supported: still off the main thread and the shared pool */
}

export type PasswordJob =
  { id: number; op: 'hash'; password: string } | { id: number; op: 'verify'; hash: string; password: string };
export type PasswordAnswer = { id: number; value?: string | boolean; error?: string };

parentPort!.on('message', (job: PasswordJob) => {
  let answer: PasswordAnswer;
  try {
    // argon2id with the library defaults (19 MiB, t=2): OWASP's recommended minimum.
    answer = { id: job.id, value: job.op === 'hash' ? hashSync(job.password) : verifySync(job.hash, job.password) };
  } catch (e) {
    answer = { id: job.id, error: (e as Error).message };
  }
  parentPort!.postMessage(answer);
});
