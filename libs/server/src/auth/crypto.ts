import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PasswordAnswer, PasswordJob } from './password-worker.js';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomString(length: number, alphabet = ALNUM): string {
  // Rejection sampling keeps every character uniformly likely (plain modulo would bias the first ones).
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out.push(alphabet[b % alphabet.length]!);
    }
  }
  return out.join('');
}

/**
 * The argon2 thread (password-worker.ts), started on first use. Passwords are checked one after another there, at
 * the lowest CPU priority: a flood of logins cannot take the cores predictions run on.
 */
let worker: Worker | null = null;
let nextJob = 0;
const pending = new Map<number, { resolve: (v: string | boolean) => void; reject: (e: Error) => void }>();

function passwordWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./password-worker.js', import.meta.url));
  w.on('message', (a: PasswordAnswer) => {
    const p = pending.get(a.id);
    pending.delete(a.id);
    // Held open only while a caller waits: an idle password thread never keeps a process from exiting.
    if (pending.size === 0) w.unref();
    if (a.error !== undefined) p?.reject(new Error(a.error));
    else p?.resolve(a.value!);
  });
  const fail = (e: Error) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the password thread exited (${code})`)));
  w.unref();
  worker = w;
  return w;
}

function onPasswordThread(job: { op: 'hash'; password: string }): Promise<string>;
function onPasswordThread(job: { op: 'verify'; hash: string; password: string }): Promise<boolean>;
function onPasswordThread(job: Omit<PasswordJob, 'id'>): Promise<string | boolean> {
  const id = nextJob++;
  return new Promise((resolve, reject) => {
    const w = passwordWorker();
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ ...job, id } as PasswordJob);
  });
}

export function hashPassword(password: string): Promise<string> {
  return onPasswordThread({ op: 'hash', password });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await onPasswordThread({ op: 'verify', hash, password });
  } catch {
    return false;
  }
}

/** A valid argon2 hash of a random password, verified against when the email is unknown so timing tells nothing. */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomString(32));
  return dummyHash;
}

export const API_KEY_PREFIX = 'my';

/** `my_<8-char prefix>_<40-char secret>`; the prefix is shown in lists so people can tell keys apart. */
export function generateApiKey(): { key: string; prefix: string } {
  const prefix = randomString(8, 'abcdefghijklmnopqrstuvwxyz0123456789');
  return { key: `${API_KEY_PREFIX}_${prefix}_${randomString(40)}`, prefix };
}

/** What is shown for a key that does not follow our format (the bootstrap key from MODELYARD_ADMIN_API_KEY). */
export function displayPrefix(key: string): string {
  const m = /^my_([a-z0-9]{8})_/.exec(key);
  return m ? m[1]! : `${key.slice(0, 4)}…`;
}

/** Exactly what generateApiKey makes. */
const OUR_KEY = /^my_[a-z0-9]{8}_[A-Za-z0-9]{40}$/;
/** MODELYARD_ADMIN_API_KEY is any string of 32+ characters (seed config); bearer tokens are at most 512. */
const FOREIGN_KEY = /^\S{32,512}$/;

/** True for a key of our own format (`my_<8-char prefix>_<40-char secret>`); checked with no allocation. */
export function isOurKeyShape(key: string): boolean {
  return OUR_KEY.test(key);
}

/**
 * The prefix a bearer token would be stored under (ApiKey.prefix, as displayPrefix makes it), or null when the
 * token cannot be a key at all: it is checked before any hashing or lookup, so garbage costs nothing.
 */
export function storedPrefixOf(key: string): string | null {
  if (OUR_KEY.test(key)) return key.slice(3, 11);
  return FOREIGN_KEY.test(key) ? `${key.slice(0, 4)}…` : null;
}

export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Session tokens are stored as an HMAC keyed by SESSION_SECRET: a copied table alone cannot log anyone in. */
export function sessionTokenHash(secret: string, token: string): string {
  return createHmac('sha256', secret).update(token).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
