import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TReadyResponse } from '@modelyard/contracts';
import { LOGGER } from '../platform/tokens.js';
import { PrismaService } from '../db/prisma.service.js';
import { RedisService } from '../platform/redis.service.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

@Injectable()
export class HealthService {
  /** Extra readiness checks that later features register (e.g. "every Production model is warm"). */
  private readonly extra = new Map<string, () => Promise<void>>();

  /** The last failure logged per check, so a probe every few seconds logs a change once, not every call. */
  private readonly failing = new Map<string, string>();

  constructor(
    private readonly db: PrismaService,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  register(name: string, check: () => Promise<void>) {
    this.extra.set(name, check);
  }

  /**
   * Ready when every registered check passes (the api's: its Production models are warm). Postgres and Redis are
   * reported too but do not decide: a warm api answers predictions through an outage of either (management routes
   * answer 503 meanwhile), and a dependency outage taking every replica out of its Service at once would turn a
   * degraded platform into a dead one.
   */
  async readiness(): Promise<TReadyResponse> {
    const dependencies = new Set(['database', 'redis']);
    const checks: [string, () => Promise<unknown>][] = [
      ['database', () => this.db.client.$queryRaw`SELECT 1`],
      ['redis', () => this.redis.ping()],
      ...this.extra.entries(),
    ];
    const results = await Promise.all(
      checks.map(async ([name, fn]) => {
        try {
          await withTimeout(fn(), 2000);
          if (this.failing.delete(name)) this.log.info({ check: name }, 'readiness check recovered');
          return [name, { ok: true }] as const;
        } catch (e) {
          const reason = (e as Error).message.slice(0, 500);
          if (this.failing.get(name) !== reason) {
            this.failing.set(name, reason);
            this.log.warn({ check: name, err: e }, 'readiness check failed');
          }
          return [name, { ok: false }] as const;
        }
      }),
    );
    return { ready: results.every(([name, r]) => r.ok || dependencies.has(name)), checks: Object.fromEntries(results) };
  }
}
