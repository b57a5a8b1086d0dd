import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { CommonConfig } from '@modelyard/config';
import { PrismaClient } from './generated/client.js';
import { COMMON_CONFIG } from '../platform/tokens.js';

export function createPrismaClient(url: string, poolMax = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolMax }) });
}

/** The one Prisma client of a process. Only repositories inject it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(COMMON_CONFIG) cfg: CommonConfig) {
    super({ adapter: new PrismaPg({ connectionString: cfg.db.url, max: 10 }) });
  }
  async onModuleDestroy() {
    await this.$disconnect();
  }
}
