import { Injectable, Optional } from '@nestjs/common';
import { RedisService } from '../platform/redis.service.js';
import { AppError } from '../platform/errors.js';
import { ProjectQuotas } from '../projects/quotas.service.js';
import type { ProjectRef } from '../tenancy/model-key.js';

/**
 * Token bucket in Redis, atomic per key: refill by elapsed time, then take up to `want` tokens (at least one)
 * and return how many were granted, or a negative wait in ms when not even one is there. Shared by every api
 * process, so N replicas enforce one limit, not N. Redis time is used so processes with skewed clocks agree.
 */
const TOKEN_BUCKET = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local result
if tokens >= 1 then
  local granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
  result = granted
else
  result = -math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return result
`;

/** A process keeps leased tokens this long at most, so an idle process does not sit on a share of the limit. */
const LEASE_MS = 250;
/** A lease Redis has not granted in this long is not waited for: the local budget answers instead. */
const LEASE_WAIT_MS = 100;
/**
 * The next lease is asked for while this one still serves: in its last quarter of time or tokens. Without it the
 * requests that came when a lease ran out waited for Redis (up to LEASE_WAIT_MS on a busy box): four times a second
 * at c=32 that was a percent of the requests, the p99 of the serving bench (issue 23, stage timers: `select`).
 */
const RENEW_AT = 0.25;

export interface RateLimit {
  rps: number;
  burst: number;
  perModelRps: number;
}

/**
 * Per-key limits, and each project's requests/s quota across all its callers (`maxRequestsPerSecond`, a bucket
 * of one second's worth per project), that hold across api processes without a Redis round trip per request: a
 * process leases a small share of a bucket (a twentieth of a second's worth) and spends it locally. A key or a
 * project can overshoot by at most one lease per process; a refusal always comes from Redis, with the wait it
 * computed.
 */
@Injectable()
export class RateLimiter {
  private defined = false;
  private readonly leases = new Map<string, { tokens: number; until: number; renewBelow: number }>();
  /** One lease request per key at a time: concurrent requests wait for it instead of each draining the bucket. */
  private readonly inFlight = new Map<string, Promise<number>>();

  private readonly prefix: string;

  constructor(
    private readonly redis: RedisService,
    @Optional() private readonly quotas?: ProjectQuotas,
  ) {
    this.prefix = redis.key('rl');
  }

  /** The project's requests/s quota (null: none), from memory. */
  private projectRps(project: ProjectRef | null | undefined): number | null {
    return project && this.quotas ? this.quotas.requestsPerSecond(project.id) : null;
  }

  private client() {
    if (!this.defined) {
      this.redis.client.defineCommand('modelyardTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
      this.defined = true;
    }
    return this.redis.client as unknown as {
      modelyardTokenBucket(key: string, rate: number, burst: number, want: number): Promise<number>;
    };
  }

  /**
   * The common case without a promise: true when this process's leases cover the request (and it is spent),
   * false when Redis must be asked (nothing is spent then; call take).
   */
  takeNow(callerKey: string, model: string, limit: RateLimit, project?: ProjectRef | null): boolean {
    const now = Date.now();
    const ka = limit.rps > 0 ? `${this.prefix}:${callerKey}` : '';
    const a = ka ? this.leases.get(ka) : undefined;
    if (ka && !(a && a.tokens >= 1 && a.until > now)) return false;
    const kb = limit.perModelRps > 0 ? `${this.prefix}:${callerKey}:${model}` : '';
    const b = kb ? this.leases.get(kb) : undefined;
    if (kb && !(b && b.tokens >= 1 && b.until > now)) return false;
    const quota = this.projectRps(project);
    const kc = quota !== null ? `${this.prefix}:project:${project!.id}` : '';
    const c = kc ? this.leases.get(kc) : undefined;
    if (kc && !(c && c.tokens >= 1 && c.until > now)) return false;
    const late = (l: { tokens: number; until: number; renewBelow: number }) =>
      --l.tokens < l.renewBelow || l.until - now < LEASE_MS * RENEW_AT;
    if (a && late(a)) this.renew(ka, limit.rps, limit.burst);
    if (b && late(b)) this.renew(kb, ...perModel(limit));
    if (c && late(c)) this.renew(kc, quota!, quota!);
    return true;
  }

  /**
   * The next lease, asked for in the background while the current one still serves; its tokens join the ones left.
   * Every token was granted by Redis, so the limit holds as before; a refusal leaves the current lease as it is.
   */
  private renew(key: string, rps: number, burst: number) {
    if (this.inFlight.has(key)) return;
    const request = this.fromRedis(key, rps, burst, leaseSize(rps, burst))
      .then((r) => {
        if (r < 0) return -r;
        const cur = this.leases.get(key);
        const now = Date.now();
        const left = cur && cur.until > now ? Math.max(0, cur.tokens) : 0;
        this.leases.set(key, { tokens: left + r, until: now + LEASE_MS, renewBelow: r * RENEW_AT });
        return 0;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, request);
  }

  /** RATE_LIMITED (429, Retry-After in details) when the caller, or its project, is over its limit. */
  async take(callerKey: string, model: string, limit: RateLimit, project?: ProjectRef | null): Promise<void> {
    const quota = this.projectRps(project);
    if (quota !== null) {
      const wait = await this.takeOne(`${this.prefix}:project:${project!.id}`, quota, quota);
      if (wait > 0)
        throw new AppError(
          'RATE_LIMITED',
          `Project ${project!.name} is over its quota of ${quota} requests/s (maxRequestsPerSecond); retry in ${wait} ms`,
          { quota: 'maxRequestsPerSecond', limit: quota, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) },
        );
    }
    const waits: number[] = [];
    if (limit.rps > 0) waits.push(await this.takeOne(`${this.prefix}:${callerKey}`, limit.rps, limit.burst));
    if (limit.perModelRps > 0)
      waits.push(await this.takeOne(`${this.prefix}:${callerKey}:${model}`, ...perModel(limit)));
    const wait = Math.max(0, ...waits);
    if (wait > 0) {
      throw new AppError('RATE_LIMITED', `Rate limit exceeded for this API key; retry in ${wait} ms`, {
        retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
      });
    }
  }

  /** 0 when a token was taken, else the wait in ms. */
  private async takeOne(key: string, rps: number, burst: number): Promise<number> {
    for (;;) {
      const lease = this.leases.get(key);
      if (lease && lease.tokens >= 1 && lease.until > Date.now()) {
        lease.tokens -= 1;
        return 0;
      }
      const pending = this.inFlight.get(key);
      if (!pending) break;
      const wait = await pending;
      if (wait > 0) return wait;
    }
    const request = this.fromRedis(key, rps, burst, leaseSize(rps, burst))
      .then((r) => {
        if (r < 0) {
          this.leases.delete(key);
          return -r;
        }
        if (this.leases.size > 50_000) this.leases.clear();
        // The requester takes one of the granted tokens; the rest serve whoever comes next.
        this.leases.set(key, { tokens: r - 1, until: Date.now() + LEASE_MS, renewBelow: r * RENEW_AT });
        return 0;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, request);
    return request;
  }

  /**
   * Redis's answer, or, while Redis is down or slow, this process's own bucket at the same rate: a Redis outage
   * loosens the limit to one budget per process for its duration instead of failing or holding every request.
   */
  private async fromRedis(key: string, rps: number, burst: number, want: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('rate-limit lease timed out')), LEASE_WAIT_MS);
    });
    try {
      return await Promise.race([this.client().modelyardTokenBucket(key, rps, burst, want), late]);
    } catch {
      return this.fromLocal(key, rps, burst, want);
    } finally {
      clearTimeout(timer);
    }
  }

  private readonly local = new Map<string, { tokens: number; at: number }>();

  /** The token bucket of the Lua script, in this process only. */
  private fromLocal(key: string, rps: number, burst: number, want: number): number {
    const now = Date.now();
    const b = this.local.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rps) / 1000);
    b.at = now;
    if (this.local.size > 50_000) this.local.clear();
    this.local.set(key, b);
    if (b.tokens < 1) return -Math.ceil(((1 - b.tokens) * 1000) / rps);
    const granted = Math.min(want, Math.floor(b.tokens));
    b.tokens -= granted;
    return granted;
  }
}

/** A lease: a twentieth of a second's worth of tokens, at least one, at most the burst. */
const leaseSize = (rps: number, burst: number) => Math.max(1, Math.min(burst, Math.floor(rps / 20)));

/** The per-(key, model) bucket's rate and burst. */
const perModel = (limit: RateLimit): [number, number] => [
  limit.perModelRps,
  Math.max(1, Math.ceil(limit.perModelRps * 2)),
];
