import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service.js';
import type { Prisma } from '../db/generated/client.js';

/** Free to take: not dispatched, and nobody holds it (or its holder's lease ran out, so the holder died). */
const takeable = (now: Date) => ({ dispatchedAt: null, OR: [{ claimedUntil: null }, { claimedUntil: { lt: now } }] });

@Injectable()
export class OutboxRepository {
  constructor(private readonly db: PrismaService) {}

  /** Whether the caller runs inside a transaction (PrismaService.transaction), which the event then joins. */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** One transaction around a change and its events; repositories called inside join it. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(() => fn());
  }

  /** In the caller's transaction when there is one: the event commits with the change, or neither does. */
  insert(row: Omit<Prisma.OutboxEventCreateInput, 'seq' | 'id'>) {
    return this.db.client.outboxEvent.create({ data: row, select: { seq: true } });
  }

  /**
   * Takes one event for `leaseMs`, or returns null when it is dispatched or held. A conditional update, so two
   * dispatchers racing for it cannot both win.
   */
  async claimOne(seq: bigint, leaseMs: number) {
    const now = new Date();
    const { count } = await this.db.pool.outboxEvent.updateMany({
      where: { seq, ...takeable(now) },
      data: { claimedUntil: new Date(now.getTime() + leaseMs) },
    });
    return count ? this.db.pool.outboxEvent.findUnique({ where: { seq } }) : null;
  }

  /** The oldest events nobody is dispatching that were recorded before `before`. */
  async backlogSeqs(before: Date, take: number): Promise<bigint[]> {
    const rows = await this.db.pool.outboxEvent.findMany({
      where: { ...takeable(new Date()), createdAt: { lt: before } },
      select: { seq: true },
      orderBy: { seq: 'asc' },
      take,
    });
    return rows.map((r) => r.seq);
  }

  markDispatched(seq: bigint) {
    return this.db.pool.outboxEvent.update({ where: { seq }, data: { dispatchedAt: new Date(), claimedUntil: null } });
  }

  /** A consumer failed: try again at `retryAt` (the lease doubles as the backoff). */
  release(seq: bigint, error: string, retryAt: Date) {
    return this.db.pool.outboxEvent.update({
      where: { seq },
      data: { claimedUntil: retryAt, attempts: { increment: 1 }, lastError: error.slice(0, 2000) },
    });
  }

  /** How far dispatch is behind: events not yet delivered and the age of the oldest. */
  async backlog(): Promise<{ pending: number; oldest: Date | null }> {
    const r = await this.db.pool.outboxEvent.aggregate({
      where: { dispatchedAt: null },
      _count: { _all: true },
      _min: { createdAt: true },
    });
    return { pending: r._count._all, oldest: r._min.createdAt };
  }

  /** Delivered events are history the audit log already keeps. */
  async deleteDispatchedBefore(before: Date): Promise<number> {
    const { count } = await this.db.pool.outboxEvent.deleteMany({ where: { dispatchedAt: { lt: before } } });
    return count;
  }
}

export type OutboxRow = NonNullable<Awaited<ReturnType<OutboxRepository['claimOne']>>>;
