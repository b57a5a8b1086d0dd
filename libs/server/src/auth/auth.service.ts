import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Role, Scope, TMeResponse } from '@modelyard/contracts';
import { AuthRepository } from './auth.repository.js';
import { dummyPasswordHash, newSessionToken, sessionTokenHash, sha256Hex, verifyPassword } from './crypto.js';
import { authorize, type Principal } from './principal.js';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../platform/errors.js';
import { RedisService } from '../platform/redis.service.js';
import { AUTH_OPTIONS, LOGGER } from '../platform/tokens.js';

export interface AuthOptions {
  sessionSecret: string;
  sessionTtlHours: number;
  loginMaxAttempts: number;
  loginWindowSeconds: number;
  apiKeyCacheSeconds: number;
}

/** Published when keys, accounts or memberships change, so every api process drops its cached principals. */
export const AUTH_CHANGED = 'auth-changed';

type KeyPrincipal = Principal & { apiKeyExpiresAt: number | null };
interface CachedKey {
  principal: KeyPrincipal | null;
  until: number;
  /** The principal last handed out, with its caller address. */
  last?: Principal;
}

@Injectable()
export class AuthService implements OnModuleDestroy {
  /** sha256(key) -> principal. The predict hot path must not hit Postgres to authenticate. */
  private readonly keyCache = new Map<string, CachedKey>();
  /** lastUsedAt is written in batches, at most once a minute per key, never on the request path. */
  private readonly touched = new Set<string>();
  private readonly lastTouch = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: AuthRepository,
    private readonly audit: AuditService,
    private readonly redis: RedisService,
    @Inject(AUTH_OPTIONS) private readonly opts: AuthOptions,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Called once at boot by the api: listen for invalidations, start the lastUsedAt flusher. */
  async start(): Promise<void> {
    await this.redis.subscribe(AUTH_CHANGED, () => this.keyCache.clear());
    this.flushTimer = setInterval(() => void this.flushTouched(), 15_000);
    this.flushTimer.unref();
  }

  async onModuleDestroy() {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushTouched();
  }

  /** Tell every process (this one included) that cached credentials may be stale. */
  async invalidate(): Promise<void> {
    this.keyCache.clear();
    await this.redis.publish(AUTH_CHANGED, String(Date.now()));
  }

  async login(email: string, password: string, ip: string | null, userAgent: string | null) {
    await this.checkLoginRate(ip, email);
    const user = await this.repo.findUserByEmail(email.trim().toLowerCase());
    // Verify against a dummy hash when the user is unknown so response time does not reveal which emails exist.
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || user.disabled) {
      await this.audit.record(null, { action: 'auth.login_failed', objectType: 'user', objectId: user?.id ?? null, summary: { email, ip } });
      throw new AppError('INVALID_CREDENTIALS', 'Invalid email or password');
    }
    await this.redis.client.del(this.rateKey(ip, email));
    const token = newSessionToken();
    const expiresAt = new Date(Date.now() + this.opts.sessionTtlHours * 3600_000);
    await this.repo.createSession({
      tokenHash: sessionTokenHash(this.opts.sessionSecret, token), userId: user.id, expiresAt, ip,
      userAgent: userAgent?.slice(0, 256) ?? null,
    });
    const principal = userPrincipal(user, 'session', ip);
    await this.audit.record(principal, { action: 'auth.login', objectType: 'user', objectId: user.id });
    return { token, expiresAt, principal };
  }

  async logout(token: string | undefined, actor: Principal | null): Promise<void> {
    if (!token) return;
    await this.repo.deleteSession(sessionTokenHash(this.opts.sessionSecret, token));
    if (actor) await this.audit.record(actor, { action: 'auth.logout', objectType: 'user', objectId: actor.id });
  }

  async resolveSession(token: string, ip: string | null): Promise<Principal | null> {
    const s = await this.repo.findSession(sessionTokenHash(this.opts.sessionSecret, token));
    if (!s || s.expiresAt.getTime() <= Date.now() || s.user.disabled) return null;
    return userPrincipal(s.user, 'session', ip);
  }

  async resolveApiKey(key: string, ip: string | null): Promise<Principal | null> {
    const sha = sha256Hex(key);
    const now = Date.now();
    const cached = this.keyCache.get(sha);
    if (cached && cached.until > now) return this.principalOf(cached, ip, now);
    const loaded: CachedKey = { principal: await this.loadKeyPrincipal(sha), until: now + this.opts.apiKeyCacheSeconds * 1000 };
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    this.keyCache.set(sha, loaded);
    return this.principalOf(loaded, ip, now);
  }

  /** resolveApiKey without a promise for a key in the cache (the prediction hot path); undefined when it is not. */
  cachedApiKey(key: string, ip: string | null): Principal | null | undefined {
    const now = Date.now();
    const cached = this.keyCache.get(sha256Hex(key));
    return cached && cached.until > now ? this.principalOf(cached, ip, now) : undefined;
  }

  private principalOf(cached: CachedKey, ip: string | null, now: number): Principal | null {
    const p = cached.principal;
    if (!p) return null;
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
    const base = k.user ? userPrincipal(k.user, 'apiKey', null) : {
      kind: 'serviceAccount' as const, id: k.serviceAccount!.id, name: k.serviceAccount!.name, email: null,
      role: k.serviceAccount!.role as Role, groups: k.serviceAccount!.memberships.map((m) => m.group),
      via: 'apiKey' as const, apiKeyId: null, scopes: null, modelAllowList: [], ip: null,
    };
    return {
      ...base, apiKeyId: k.id, scopes: k.scopes as Scope[], modelAllowList: k.modelAllowList,
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
      kind: p.kind === 'system' ? 'serviceAccount' : p.kind, id: p.id, name: p.name, email: p.email, role: p.role,
      groups: p.groups, scopes: p.via === 'apiKey' ? p.scopes : null, apiKeyId: p.apiKeyId,
    };
  }

  private rateKey(ip: string | null, email: string) {
    return this.redis.key('login', ip ?? '-', email.trim().toLowerCase());
  }

  /** Fixed window per (ip, email) in Redis, so the limit holds across every api process. */
  private async checkLoginRate(ip: string | null, email: string) {
    const key = this.rateKey(ip, email);
    const [[, count], [, ttl]] = (await this.redis.client.multi().incr(key).ttl(key).exec()) as [[null, number], [null, number]];
    if (ttl < 0) await this.redis.client.expire(key, this.opts.loginWindowSeconds);
    if (count > this.opts.loginMaxAttempts) {
      throw new AppError('RATE_LIMITED', 'Too many login attempts; try again later', {
        retryAfterSeconds: ttl > 0 ? ttl : this.opts.loginWindowSeconds,
      });
    }
  }
}

type UserWithGroups = {
  id: string; email: string; name: string; role: string; memberships: { group: { id: string; name: string } }[];
};

export function userPrincipal(u: UserWithGroups, via: 'session' | 'apiKey', ip: string | null): Principal {
  return {
    kind: 'user', id: u.id, name: u.name, email: u.email, role: u.role as Role,
    groups: u.memberships.map((m) => m.group), via, apiKeyId: null, scopes: null, modelAllowList: [], ip,
  };
}
