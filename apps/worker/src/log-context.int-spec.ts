import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { QueueEvents } from 'bullmq';
import { loadWorkerConfig } from '@modelyard/config';
import { bullPrefix, createLogger, redisOptions, JobProducer } from '@modelyard/server';
import { integrationEnv } from '@modelyard/testing';
import { WorkerModule } from './worker.module.js';

describe('worker log lines carry the job they serve', () => {
  let ctx: INestApplicationContext;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-joblog-'));
  const file = path.join(dir, 'worker.log');
  const config = loadWorkerConfig(integrationEnv({ LOG_LEVEL: 'info', LOG_FILE: file }));

  before(async () => {
    ctx = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, createLogger(config.log, 'worker')), {
      logger: false,
    });
    await ctx.init();
  });
  after(async () => {
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the line a job handler writes has the job id and name', async () => {
    const events = new QueueEvents('maintenance', {
      connection: redisOptions(config.redis.url),
      prefix: bullPrefix(config),
    });
    await events.waitUntilReady();
    let jobId: string;
    try {
      const job = await ctx.get(JobProducer).enqueue('maintenance.cleanup', { reason: 'manual' });
      jobId = String(job.id);
      await job.waitUntilFinished(events, 15_000);
    } finally {
      await events.close();
    }
    const deadline = Date.now() + 10_000;
    let line: Record<string, unknown> | undefined;
    while (!line && Date.now() < deadline) {
      line = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'maintenance.cleanup done' && l.jobId === jobId);
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    // MaintenanceService logs its result and nothing else; the job id comes from the log context.
    assert.ok(line, `no "maintenance.cleanup done" line with jobId ${jobId}`);
    assert.equal(line.job, 'maintenance.cleanup');
  });
});
