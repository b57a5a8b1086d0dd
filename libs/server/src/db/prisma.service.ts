import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { CommonConfig } from '@modelyard/config';
import { PrismaClient, type Prisma } from './generated/client.js';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { ScopedContext } from '../platform/scoped-context.js';

export function createPrismaClient(url: string, poolMax = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolMax }) });
}

/** What repositories query through: the pool, or the transaction open around them. */
export type Db = Prisma.TransactionClient;

/**
 * The one Prisma client of a process. Only repositories inject it, and they query through `client`, which is
 * the open transaction when a caller runs them inside `transaction()`: a service makes several repository
 * calls and records its domain event (events/domain-events.ts) all or nothing, without threading a
 * transaction through every signature.
 */
@Injectable()
export class PrismaService implements OnModuleDestroy {
  readonly pool: PrismaClient;
  private readonly open = new ScopedContext<Db>();

  constructor(@Inject(COMMON_CONFIG) cfg: CommonConfig) {
    this.pool = createPrismaClient(cfg.db.url, 10);
  }

  get client(): Db {
    return this.open.get() ?? this.pool;
  }

  get inTransaction(): boolean {
    return this.open.get() !== undefined;
  }

  /** Runs `fn` in one transaction; repositories it calls join it, and so does a nested `transaction()`. */
  transaction<T>(fn: (tx: Db) => Promise<T>, limits = { maxWait: 5_000, timeout: 20_000 }): Promise<T> {
    const tx = this.open.get();
    if (tx) return fn(tx);
    return this.pool.$transaction((t) => this.open.run(t, () => fn(t)), limits);
  }

  async onModuleDestroy() {
    await this.pool.$disconnect();
  }
}
