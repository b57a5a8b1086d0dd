import { Injectable } from '@nestjs/common';
import type { TReadyResponse } from '@modelyard/contracts';
import { PrismaService } from '../db/prisma.service.js';
import { RedisService } from '../platform/redis.service.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

@Injectable()
export class HealthService {
  /** Extra readiness checks that later features register (e.g. "every Production model is warm"). */
  private readonly extra = new Map<string, () => Promise<void>>();

  constructor(private readonly db: PrismaService, private readonly redis: RedisService) {}

  register(name: string, check: () => Promise<void>) {
    this.extra.set(name, check);
  }

  async readiness(): Promise<TReadyResponse> {
    const checks: [string, () => Promise<unknown>][] = [
      ['database', () => this.db.$queryRaw`SELECT 1`],
      ['redis', () => this.redis.ping()],
      ...this.extra.entries(),
    ];
    const results = await Promise.all(checks.map(async ([name, fn]) => {
      try {
        await withTimeout(fn(), 2000);
        return [name, { ok: true }] as const;
      } catch (e) {
        return [name, { ok: false, error: (e as Error).message.slice(0, 200) }] as const;
      }
    }));
    return { ready: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
  }
}
