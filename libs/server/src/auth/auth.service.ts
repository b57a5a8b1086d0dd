import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Role, Scope, TMeResponse } from '@modelyard/contracts';
import { AuthRepository } from './auth.repository.js';
import {
  dummyPasswordHash,
  isOurKeyShape,
  newSessionToken,
  sessionTokenHash,
  sha256Hex,
  storedPrefixOf,
  verifyPassword,
} from './crypto.js';
import { authorize, type Principal } from './principal.js';
import { DomainEvents } from '../events/domain-events.js';
import { AppError } from '../platform/errors.js';
import { RedisService } from '../platform/redis.service.js';
import { WorkGate } from '../platform/work-gate.js';
import { AUTH_OPTIONS, LOGGER } from '../platform/tokens.js';
import { DEFAULT_PROJECT_REF, type ProjectRef } from '../tenancy/model-key.js';
import { roleIn, userGrants, type RoleGrant } from '../tenancy/project-roles.js';

export interface AuthOptions {
  sessionSecret: string;
  sessionTtlHours: number;
  loginMaxAttempts: number;
  loginWindowSeconds: number;
  apiKeyCacheSeconds: number;
  // --- floods (issue 22): budgets checked before the expensive parts of a login or a key lookup ---
  /** Failed logins per client IP (any email) per loginWindowSeconds, shared by every api process (Redis). */
  loginIpMaxAttempts: number;
  /** Password checks per second per api process (a token bucket holding two seconds' worth, at least 10). */
  loginGlobalPerSecond: number;
  /** argon2 hashes running at once per process, and how many may wait for one; past that a login gets 429. */
  loginHashConcurrency: number;
  loginHashQueue: number;
  /** Good keys kept in memory (least recently used dropped first), and unknown keys remembered as unknown. */
  apiKeyCacheSize: number;
  apiKeyMissCacheSize: number;
}

/**
 * Published when keys, accounts or memberships change, so every api process drops its cached principals; a
 * message `{"prefix": ...}` says only that a key was created (its prefix is known from now on).
 */
export const AUTH_CHANGED = 'auth-changed';

type KeyPrincipal = Principal & { apiKeyExpiresAt: number | null };

interface CachedKey {
  principal: KeyPrincipal;
  until: number;
  /** `inserts` when this entry was last moved to the young end of the LRU order. */
  epoch: number;
  /** The principal last handed out, with its caller address. */
  last?: Principal;
}

/** Key prefixes are re-read this often even without an auth-changed message (one lost on a reconnect). */
const PREFIX_RELOAD_MS = 60_000;
/**
 * A token of an unknown prefix re-reads them at most this often (a key inserted by the seed, or announced on a
 * message this process missed, works at its first use): a flood of made-up prefixes costs one query a second.
 */
const PREFIX_MISS_RELOAD_MS = 1000;

/** Tokens refilled continuously at `rate` per second, up to `burst`. */
class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** 0 when a token was taken, else the whole seconds until one will be there. */
  take(now: number): number {
    const wait = this.peek(now);
    if (wait === 0) this.tokens--;
    return wait;
  }

  /** What take() would answer, without taking. */
  peek(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return this.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }
}

@Injectable()
export class AuthService implements OnModuleDestroy {
  /**
   * sha256(key) -> principal of a good key, in LRU order (a Map iterates in insertion order: oldest first). The
   * predict hot path must not hit Postgres to authenticate. Bounded by apiKeyCacheSize; misses never evict it.
   */
  private readonly keyCache = new Map<string, CachedKey>();
  /** Keys put in keyCache so far: a hit re-inserts its entry only when others came in since (one compare per hit). */
  private inserts = 0;
  /** sha256(key) -> until: keys Postgres did not know (or refused), so a repeated bad key costs no query. */
  private readonly missCache = new Map<string, number>();
  /**
   * The prefix of every key that is not revoked (ApiKey.prefix). A token whose prefix is not here is refused
   * with no hashing and no query: random keys cost nothing. null until loaded (the worker never loads it).
   */
  private prefixes: Set<string> | null = null;
  /** Prefixes announced while a reload was reading the table: the reload's answer may predate them. */
  private announced: string[] | null = null;
  private reloading: Promise<void> | null = null;
  /** When the last reload ended (ms). */
  private prefixesAt = 0;
  private prefixTimer: NodeJS.Timeout | null = null;
  private readonly hashGate: WorkGate;
  private readonly loginBucket: TokenBucket;
  /** Lookups under way, so concurrent requests with one uncached key cost one query. */
  private readonly lookups = new Map<string, Promise<KeyPrincipal | null>>();
  /** Postgres lookups of API keys since start (`modelyard_api_key_lookups_total`). */
  keyLookups = 0;
  /** lastUsedAt is written in batches, at most once a minute per key, never on the request path. */
  private readonly touched = new Set<string>();
  private readonly lastTouch = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | null = null;
  private sessionCheck: SessionCheck | null = null;
  /** Project name -> project (null: no such project), dropped with the key cache on every auth change. */
  private readonly projects = new Map<string, ProjectRef | null>();
  private readonly checks = new Map<string, Promise<boolean>>();

  constructor(
    private readonly repo: AuthRepository,
    private readonly events: DomainEvents,
    private readonly redis: RedisService,
    @Inject(AUTH_OPTIONS) private readonly opts: AuthOptions,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.hashGate = new WorkGate(Math.max(1, opts.loginHashConcurrency ?? 1), opts.loginHashQueue ?? 16);
    const perSecond = opts.loginGlobalPerSecond ?? 2;
    // A burst of a few seconds' worth: a handful of people (or a test suite) logging in at once all get in.
    this.loginBucket = new TokenBucket(perSecond, Math.max(10, 2 * perSecond));
  }

  /** Called once at boot by the api: listen for invalidations, load key prefixes, start the lastUsedAt flusher. */
  async start(): Promise<void> {
    await this.redis.subscribe(AUTH_CHANGED, (msg) => this.onAuthChanged(msg));
    await this.reloadPrefixes();
    this.prefixTimer = setInterval(() => void this.reloadPrefixes(), PREFIX_RELOAD_MS);
    this.prefixTimer.unref();
    this.flushTimer = setInterval(() => void this.flushTouched(), 15_000);
    this.flushTimer.unref();
  }

  async onModuleDestroy() {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.prefixTimer) clearInterval(this.prefixTimer);
    await this.flushTouched();
  }

  /** Tell every process (this one included) that cached credentials may be stale. */
  async invalidate(): Promise<void> {
    this.forgetKeys();
    await this.redis.publish(AUTH_CHANGED, String(Date.now()));
  }

  /** A key was just created: every process takes its prefix from now on (not only after its next reload). */
  async keyCreated(prefix: string): Promise<void> {
    this.announce(prefix);
    await this.redis.publish(AUTH_CHANGED, JSON.stringify({ prefix }));
  }

  private onAuthChanged(msg: string) {
    if (msg.startsWith('{')) {
      try {
        const prefix = (JSON.parse(msg) as { prefix?: unknown }).prefix;
        if (typeof prefix === 'string') return this.announce(prefix);
      } catch {
        /* an invalidation like any other */
      }
    }
    this.forgetKeys();
    void this.reloadPrefixes();
  }

  private forgetKeys() {
    this.keyCache.clear();
    this.missCache.clear();
    this.projects.clear();
  }

  /**
   * The project a request acts in, by the name its URL gives (null: none given, so `default`); null when there
   * is no such project. Cached: a project is created and deleted far more rarely than it is named.
   */
  async project(name: string | null): Promise<ProjectRef | null> {
    if (name === null) return DEFAULT_PROJECT_REF;
    if (this.projects.has(name)) return this.projects.get(name)!;
    const p = await this.repo.findProject(name);
    if (this.projects.size > 10_000) this.projects.clear();
    this.projects.set(name, p);
    return p;
  }

  /** Every role a principal holds, on every project (a service account: its role in its own project). */
  async grantsOf(p: Principal): Promise<RoleGrant[]> {
    if (p.kind === 'serviceAccount') return p.project && p.role ? [{ projectId: p.project.id, role: p.role }] : [];
    if (p.kind !== 'user') return [];
    const u = await this.repo.userGrants(p.id);
    return u ? userGrants(u) : [];
  }

  private announce(prefix: string) {
    this.prefixes?.add(prefix);
    this.announced?.push(prefix);
    // A miss remembered for a token of this prefix may be the key just created.
    this.missCache.clear();
  }

  /** One reload at a time: callers during one share it. */
  private reloadPrefixes(): Promise<void> {
    this.reloading ??= this.loadPrefixes().finally(() => {
      this.reloading = null;
      this.prefixesAt = Date.now();
    });
    return this.reloading;
  }

  private async loadPrefixes(): Promise<void> {
    this.announced = [];
    try {
      const loaded = new Set(await this.repo.activeKeyPrefixes());
      for (const p of this.announced) loaded.add(p);
      this.prefixes = loaded;
    } catch (err) {
      // Without a fresh list every token of a key's shape is looked up, as before (the miss cache bounds repeats).
      this.prefixes = null;
      this.log.warn({ err }, 'could not load API key prefixes; looking every key up');
    } finally {
      this.announced = null;
    }
  }

  /**
   * The 429 a login would get now for want of a password check (this process's budget is spent, or as many
   * hashes wait as may), or null; nothing is taken. The api asks before it parses a login's body, so a flood
   * of logins costs next to nothing; login() itself takes the budget after the per-IP windows.
   */
  loginRefusal(): AppError | null {
    const wait = this.loginBucket.peek(Date.now());
    if (wait > 0) return tooManyLogins(wait);
    return this.hashGate.full ? tooManyLogins(1) : null;
  }

  async login(email: string, password: string, ip: string | null, userAgent: string | null) {
    // Budgets first, before Postgres and argon2: per (IP, email) and per IP in Redis, then per process in memory.
    await this.checkLoginRate(ip, email);
    const wait = this.loginBucket.take(Date.now());
    if (wait > 0) throw tooManyLogins(wait);
    const user = await this.repo.findUserByEmail(email.trim().toLowerCase());
    // Verify against a dummy hash when the user is unknown so response time does not reveal which emails exist.
    // argon2 takes a core for tens of milliseconds: it runs on its own thread at the lowest priority (crypto.ts),
    // a bounded few waiting per process, so a login flood cannot take the cores predictions need.
    const hash = user?.passwordHash ?? (await dummyPasswordHash());
    const ok = await this.hashGate.run(
      () => verifyPassword(hash, password),
      () => tooManyLogins(1),
    );
    if (!user || !ok || user.disabled) {
      await this.events.record(null, { type: 'auth.login_failed', objectId: user?.id ?? null, data: { email, ip } });
      throw new AppError('INVALID_CREDENTIALS', 'Invalid email or password');
    }
    // A success clears its (IP, email) window and gives its attempt back to the IP's: that window counts failures,
    // so the people behind one address who know their passwords never use it up.
    await this.redis.client.multi().del(this.rateKey(ip, email)).decr(this.ipRateKey(ip)).exec();
    return this.openSession(user, ip, userAgent, null);
  }

  /**
   * A new session for a user who has proven who they are (a password, or single sign-on, whose `sso` fields the
   * session keeps so the user is re-checked at the IdP). The token is returned once; the row holds its HMAC.
   */
  async openSession(
    user: UserWithGroups,
    ip: string | null,
    userAgent: string | null,
    sso: { refreshSealed: string | null; client: string; checkAt: Date; via: string } | null,
  ) {
    const token = newSessionToken();
    const expiresAt = new Date(Date.now() + this.opts.sessionTtlHours * 3600_000);
    const principal = userPrincipal(user, 'session', ip, DEFAULT_PROJECT_REF);
    await this.events.change(
      principal,
      () =>
        this.repo.createSession({
          tokenHash: sessionTokenHash(this.opts.sessionSecret, token),
          userId: user.id,
          expiresAt,
          ip,
          userAgent: userAgent?.slice(0, 256) ?? null,
          ssoRefreshSealed: sso?.refreshSealed ?? null,
          ssoClient: sso?.client ?? null,
          ssoCheckAt: sso?.checkAt ?? null,
        }),
      () => ({ type: 'auth.login', objectId: user.id, data: sso ? { via: sso.via } : {} }),
    );
    return { token, expiresAt, principal };
  }

  /**
   * Single sign-on registers how a session is re-checked at the IdP (the sso folder sits above this one). The
   * check answers false when the IdP refused the user: the session is then over.
   */
  useSessionCheck(check: SessionCheck) {
    this.sessionCheck = check;
  }

  async logout(token: string | undefined, actor: Principal | null): Promise<void> {
    if (!token) return;
    await this.events.change(
      actor,
      () => this.repo.deleteSession(sessionTokenHash(this.opts.sessionSecret, token)),
      () => (actor ? { type: 'auth.logout', objectId: actor.id, data: {} } : []),
    );
  }

  /** The session's user, acting in `project` (default: the default project). */
  async resolveSession(
    token: string,
    ip: string | null,
    project: ProjectRef = DEFAULT_PROJECT_REF,
  ): Promise<Principal | null> {
    const hash = sessionTokenHash(this.opts.sessionSecret, token);
    let s = await this.repo.findSession(hash);
    if (!s || s.expiresAt.getTime() <= Date.now() || s.user.disabled) return null;
    if (s.ssoCheckAt && s.ssoCheckAt.getTime() <= Date.now()) {
      // Due for its re-check at the IdP: without a way to check (SSO switched off), the session ends.
      if (!this.sessionCheck || !(await this.checkOnce(s))) return null;
      s = await this.repo.findSession(hash);
      if (!s || s.user.disabled) return null;
    }
    return userPrincipal(s.user, 'session', ip, project);
  }

  /**
   * A session's user acting in the project a URL named (undefined: `default`). A project that does not exist,
   * or one the user has no role in, is not found: its name reveals nothing.
   */
  async resolveSessionIn(token: string, ip: string | null, named: string | undefined): Promise<Principal | null> {
    const project = await this.project(named ?? null);
    if (!project) throw projectNotFound(named!);
    const p = await this.resolveSession(token, ip, project);
    if (p && named !== undefined && p.role === null) throw projectNotFound(named);
    return p;
  }

  /**
   * A key's principal in the project a URL named: its own (no promise, the predict hot path), or for a platform
   * admin's key any project, as admin there; any other project is not found.
   */
  keyIn(p: Principal, named: string | undefined): Principal | Promise<Principal> {
    if (named === undefined || p.project?.name === named || !p.platformAdmin) return keyInProject(p, named);
    return this.project(named).then((project) => {
      if (!project) throw projectNotFound(named);
      return { ...p, project, role: 'admin' as const };
    });
  }

  /** Concurrent requests of one session share one check at the IdP. */
  private checkOnce(s: DueSession): Promise<boolean> {
    let check = this.checks.get(s.id);
    if (!check) {
      check = this.sessionCheck!(s).finally(() => this.checks.delete(s.id));
      this.checks.set(s.id, check);
    }
    return check;
  }

  async resolveApiKey(key: string, ip: string | null): Promise<Principal | null> {
    const known = this.cachedApiKey(key, ip);
    if (known !== undefined) return known;
    if (!this.prefixKnown(key)) {
      await this.reloadPrefixes();
      if (!this.prefixKnown(key)) return null;
    }
    const sha = sha256Hex(key);
    const ttl = this.opts.apiKeyCacheSeconds * 1000;
    let lookup = this.lookups.get(sha);
    if (!lookup) {
      this.keyLookups++;
      lookup = this.loadKeyPrincipal(sha).finally(() => this.lookups.delete(sha));
      this.lookups.set(sha, lookup);
    }
    const principal = await lookup;
    const now = Date.now();
    if (!principal) {
      this.remember(this.missCache, sha, now + ttl, this.opts.apiKeyMissCacheSize ?? 1000);
      return null;
    }
    const loaded: CachedKey = { principal, until: now + ttl, epoch: ++this.inserts };
    this.remember(this.keyCache, sha, loaded, this.opts.apiKeyCacheSize ?? 10_000);
    return this.principalOf(loaded, ip, now);
  }

  /**
   * resolveApiKey without a promise (the prediction hot path): the principal of a cached good key; null for a
   * token refused without a lookup (not a key's shape, a prefix no key has, a remembered miss, expired); and
   * undefined when only Postgres can tell. The shape is checked before anything is hashed.
   */
  cachedApiKey(key: string, ip: string | null): Principal | null | undefined {
    const ours = isOurKeyShape(key);
    // Foreign tokens (the bootstrap key is the only kind) are rare: their prefix is checked before hashing.
    if (!ours && !this.prefixKnown(key)) return this.unknownPrefix(key);
    const sha = sha256Hex(key);
    const now = Date.now();
    const cached = this.keyCache.get(sha);
    if (cached && cached.until > now) {
      if (cached.epoch !== this.inserts) {
        this.keyCache.delete(sha);
        this.keyCache.set(sha, cached);
        cached.epoch = this.inserts;
      }
      return this.principalOf(cached, ip, now);
    }
    if (ours && !this.prefixKnown(key)) return this.unknownPrefix(key);
    const miss = this.missCache.get(sha);
    return miss !== undefined && miss > now ? null : undefined;
  }

  /** Refused (null), unless the token has a key's shape and the prefixes are due for a re-read (undefined). */
  private unknownPrefix(key: string): null | undefined {
    return storedPrefixOf(key) !== null && Date.now() - this.prefixesAt >= PREFIX_MISS_RELOAD_MS ? undefined : null;
  }

  private prefixKnown(key: string): boolean {
    const prefix = storedPrefixOf(key);
    return prefix !== null && (this.prefixes === null || this.prefixes.has(prefix));
  }

  /** Sets `k` as the youngest entry, dropping the oldest past `max`: one entry out per entry in, never a wipe. */
  private remember<V>(map: Map<string, V>, k: string, v: V, max: number) {
    map.delete(k);
    map.set(k, v);
    while (map.size > max) map.delete(map.keys().next().value!);
  }

  private principalOf(cached: CachedKey, ip: string | null, now: number): Principal | null {
    const p = cached.principal;
    if (p.apiKeyExpiresAt !== null && p.apiKeyExpiresAt <= now) return null;
    this.markUsed(p.apiKeyId!, now);
    // One principal object per key and caller address while the cache entry lives: building a fresh one per
    // request showed on the prediction hot path. Callers never mutate a principal.
    if (cached.last?.ip !== ip) {
      const { apiKeyExpiresAt: _expires, ...principal } = p;
      cached.last = { ...principal, ip };
    }
    return cached.last;
  }

  private async loadKeyPrincipal(sha: string): Promise<KeyPrincipal | null> {
    const k = await this.repo.findApiKeyBySha(sha);
    if (!k || k.revokedAt) return null;
    const owner = k.user ?? k.serviceAccount;
    if (!owner || owner.disabled) return null;
    // A key acts in its own project only, with its owner's role there now (a service account's is its role).
    const base = k.user
      ? userPrincipal(k.user, 'apiKey', null, k.project)
      : {
          kind: 'serviceAccount' as const,
          id: k.serviceAccount!.id,
          name: k.serviceAccount!.name,
          email: null,
          project: k.project,
          role: k.serviceAccount!.projectId === k.projectId ? (k.serviceAccount!.role as Role) : null,
          platformAdmin: k.serviceAccount!.platformAdmin,
          groups: k.serviceAccount!.memberships.map((m) => ({ id: m.group.id, name: m.group.name })),
          via: 'apiKey' as const,
          apiKeyId: null,
          scopes: null,
          modelAllowList: [],
          ip: null,
        };
    return {
      ...base,
      apiKeyId: k.id,
      scopes: k.scopes as Scope[],
      modelAllowList: k.modelAllowList,
      apiKeyExpiresAt: k.expiresAt ? k.expiresAt.getTime() : null,
    };
  }

  private markUsed(id: string, now: number) {
    if ((this.lastTouch.get(id) ?? 0) > now - 60_000) return;
    this.lastTouch.set(id, now);
    this.touched.add(id);
  }

  private async flushTouched() {
    if (!this.touched.size) return;
    const ids = [...this.touched];
    this.touched.clear();
    try {
      await this.repo.touchApiKeys(ids, new Date());
    } catch (e) {
      this.log.warn({ err: e }, 'could not record API key use');
    }
  }

  me(p: Principal): TMeResponse {
    authorize(p, 'me.read');
    return {
      kind: p.kind === 'system' ? 'serviceAccount' : p.kind,
      id: p.id,
      name: p.name,
      email: p.email,
      project: p.project,
      role: p.role,
      platformAdmin: p.platformAdmin,
      groups: p.groups,
      scopes: p.via === 'apiKey' ? p.scopes : null,
      apiKeyId: p.apiKeyId,
    };
  }

  private ipRateKey(ip: string | null) {
    return this.redis.key('login-ip', ip ?? '-');
  }

  private rateKey(ip: string | null, email: string) {
    return this.redis.key('login', ip ?? '-', email.trim().toLowerCase());
  }

  /**
   * Fixed windows per (ip, email) and per ip in Redis, in one round trip, so the limits hold across every api
   * process. The per-IP window stops one client from trying many emails (each costing a password hash).
   */
  private async checkLoginRate(ip: string | null, email: string) {
    const key = this.rateKey(ip, email);
    const ipKey = this.ipRateKey(ip);
    const multi = this.redis.client.multi().incr(key).ttl(key).incr(ipKey).ttl(ipKey);
    const replies = (await multi.exec()) as [null, number][];
    const [count, ttl, ipCount, ipTtl] = replies.map((r) => r[1]) as [number, number, number, number];
    const window = this.opts.loginWindowSeconds;
    if (ttl < 0) await this.redis.client.expire(key, window);
    if (ipTtl < 0) await this.redis.client.expire(ipKey, window);
    if (count > this.opts.loginMaxAttempts) {
      throw tooManyLogins(ttl > 0 ? ttl : window, 'Too many login attempts; try again later');
    }
    if (ipCount > (this.opts.loginIpMaxAttempts ?? Infinity)) {
      throw tooManyLogins(ipTtl > 0 ? ipTtl : window, 'Too many login attempts from this address; try again later');
    }
  }
}

/**
 * A key acts in its own project only: a URL naming any other is not found (whether it exists or not). A
 * platform admin's key is the exception (admin in every project): `auth.keyIn` moves it there.
 */
export function keyInProject(p: Principal, named: string | undefined): Principal {
  if (named !== undefined && p.project?.name !== named) throw projectNotFound(named);
  return p;
}

const projectNotFound = (name: string) => new AppError('NOT_FOUND', `Project ${name} not found`);

function tooManyLogins(retryAfterSeconds: number, message = 'Too many logins right now; try again in a moment') {
  return new AppError('RATE_LIMITED', message, { retryAfterSeconds });
}

/** A session due for its re-check at the IdP, as single sign-on needs it. */
export type DueSession = { id: string; userId: string; ssoRefreshSealed: string | null; ssoClient: string | null };
export type SessionCheck = (session: DueSession) => Promise<boolean>;

type UserWithGroups = {
  id: string;
  email: string;
  name: string;
  /** The platform role: `admin` is a platform admin; a role in a project comes from grants. */
  role: string;
  grants: { projectId: string; role: string }[];
  memberships: { group: { id: string; name: string; grants: { projectId: string; role: string }[] } }[];
};

export function userPrincipal(
  u: UserWithGroups,
  via: 'session' | 'apiKey',
  ip: string | null,
  project: ProjectRef,
): Principal {
  const platformAdmin = u.role === 'admin';
  return {
    kind: 'user',
    id: u.id,
    name: u.name,
    email: u.email,
    project,
    role: roleIn(project.id, userGrants(u), platformAdmin),
    platformAdmin,
    groups: u.memberships.map((m) => ({ id: m.group.id, name: m.group.name })),
    via,
    apiKeyId: null,
    scopes: null,
    modelAllowList: [],
    ip,
  };
}
