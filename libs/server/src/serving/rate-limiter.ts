import { Injectable } from '@nestjs/common';
import { RedisService } from '../platform/redis.service.js';
import { AppError } from '../platform/errors.js';

/**
 * Token bucket in Redis, atomic per key: refill by elapsed time, take one token or say how long until one
 * is there. Shared by every api process, so N replicas enforce one limit, not N. Redis time is used so
 * processes with skewed clocks agree.
 */
const TOKEN_BUCKET = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

export interface RateLimit {
  rps: number;
  burst: number;
  perModelRps: number;
}

@Injectable()
export class RateLimiter {
  private defined = false;

  constructor(private readonly redis: RedisService) {}

  private client() {
    if (!this.defined) {
      this.redis.client.defineCommand('modelyardTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
      this.defined = true;
    }
    return this.redis.client as unknown as { modelyardTokenBucket(key: string, rate: number, burst: number): Promise<number> };
  }

  /** RATE_LIMITED (429, Retry-After in details) when the caller is over its limit. */
  async take(callerKey: string, model: string, limit: RateLimit): Promise<void> {
    if (limit.rps <= 0 && limit.perModelRps <= 0) return;
    const c = this.client();
    const checks: Promise<number>[] = [];
    if (limit.rps > 0) checks.push(c.modelyardTokenBucket(this.redis.key('rl', callerKey), limit.rps, limit.burst));
    if (limit.perModelRps > 0) checks.push(c.modelyardTokenBucket(this.redis.key('rl', callerKey, model), limit.perModelRps, Math.max(1, Math.ceil(limit.perModelRps * 2))));
    const waits = await Promise.all(checks);
    const wait = Math.max(...waits);
    if (wait > 0) {
      throw new AppError('RATE_LIMITED', `Rate limit exceeded for this API key; retry in ${wait} ms`, { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) });
    }
  }
}
