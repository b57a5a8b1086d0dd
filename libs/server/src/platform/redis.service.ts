import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG } from './tokens.js';

export function createRedis(url: string): Redis {
  // maxRetriesPerRequest: null is what BullMQ requires of the connections it uses; harmless elsewhere.
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false, enableAutoPipelining: true });
}

/**
 * Connection options (not a client) for BullMQ Workers and QueueEvents: BullMQ closes connections it made
 * itself, but never a client it was handed, which would keep the process alive after shutdown.
 */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname, port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

/**
 * Redis for commands and a second connection for subscriptions (a subscribed connection can do nothing else).
 * Channel and key names are prefixed so several installs or test runs can share one Redis.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(@Inject(COMMON_CONFIG) private readonly cfg: CommonConfig) {
    this.client = createRedis(cfg.redis.url);
  }

  key(...parts: string[]): string {
    return [this.cfg.redis.prefix, ...parts].join(':');
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.key('events', channel), message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    const full = this.key('events', channel);
    if (!this.subscriber) {
      this.subscriber = this.client.duplicate();
      this.subscriber.on('message', (ch: string, msg: string) => this.handlers.get(ch)?.forEach((h) => h(msg)));
    }
    let set = this.handlers.get(full);
    if (!set) {
      set = new Set();
      this.handlers.set(full, set);
      await this.subscriber.subscribe(full);
    }
    set.add(handler);
  }

  async ping(): Promise<void> {
    const r = await this.client.ping();
    if (r !== 'PONG') throw new Error(`unexpected PING reply ${r}`);
  }

  async onModuleDestroy() {
    await Promise.allSettled([this.client.quit(), this.subscriber?.quit()]);
  }
}
