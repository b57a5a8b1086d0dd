// The streams part of `npm run bench` (issue 19): records/s through a stream deployment on this box (a backlog
// drained by the platform's worker), beside the batch job's rows/s for the same model and row count, and the
// end-to-end latency (p50/p99 from the source record's XADD to its result's XADD, both Redis clock) at a steady
// 1,000 records/s.
//   BENCH_STREAM_RECORDS (200000) BENCH_STREAM_RATE (1000) BENCH_STREAM_SECONDS (20)
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { timeJob, writeCsv } from './batch.mjs';

const RECORDS = Number(process.env.BENCH_STREAM_RECORDS ?? 200_000);
const RATE = Number(process.env.BENCH_STREAM_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_STREAM_SECONDS ?? 20);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const idMs = (id) => Number(id.slice(0, id.indexOf('-')));
const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function call(api, token, method, route, body) {
  const res = await fetch(`${api}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function drained(api, token, model, name, total) {
  for (;;) {
    const s = (await call(api, token, 'GET', `/v1/models/${model}/streams/${name}`)).stats;
    if (s && s.lag === 0 && s.pending === 0 && s.sinkLength >= total) return;
    await sleep(50);
  }
}

/** Pushes the features of the sample rows as stream records, pipelined in chunks. */
async function push(redis, key, columns, sampleRows, from, n) {
  const ids = [];
  for (let at = from; at < from + n; at += 2000) {
    const p = redis.pipeline();
    for (let i = at; i < Math.min(from + n, at + 2000); i++) {
      const r = sampleRows[i % sampleRows.length];
      const fields = ['id', `r${i}`];
      columns.forEach((c, k) => fields.push(c, (r[k] + ((i * 7919) % 13) / 100).toFixed(2)));
      p.xadd(key, '*', ...fields);
    }
    for (const [err, id] of await p.exec()) {
      if (err) throw err;
      ids.push(id);
    }
  }
  return ids;
}

/** Returns markdown lines. */
export async function streamsBench({ api, token, redisUrl, redisPrefix, storageRoot, model, samples, log }) {
  const redis = new Redis(redisUrl);
  const cols = samples.inputs[0].columns;
  const sampleRows = samples.input_data[samples.inputs[0].name];
  const lines = [];
  try {
    // 1. Throughput: RECORDS records wait in the source; the deployment is created on them and drains them.
    const name = `tput-${Date.now().toString(36)}`;
    const src = `bench-${name}`;
    const sourceKey = `${redisPrefix}:streams:${src}`;
    await push(redis, sourceKey, cols, sampleRows, 0, RECORDS);
    const t = performance.now();
    await call(api, token, 'POST', `/v1/models/${model}/streams`, {
      name,
      source: src,
      sink: `${src}.out`,
      startAt: 'earliest',
      options: { batchSize: 500, maxInFlight: 4000, sinkMaxLen: 0, copyFields: ['id'] },
    });
    await drained(api, token, model, name, RECORDS);
    const streamSeconds = (performance.now() - t) / 1000;
    log(`stream: ${RECORDS} records in ${streamSeconds.toFixed(2)} s`);
    await call(api, token, 'DELETE', `/v1/models/${model}/streams/${name}`);
    await redis.del(sourceKey, `${sourceKey}.out`, `${sourceKey}.out.dead`);

    // 2. The same rows as a batch job on the same model and worker.
    const dir = path.join(storageRoot, 'bench-inputs');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `streams-${RECORDS}.csv`);
    await writeCsv(file, cols, sampleRows, RECORDS);
    const job = await timeJob(api, token, model, file);
    log(`batch: ${job.rows} rows in ${job.seconds.toFixed(2)} s`);

    // 3. Latency at a steady RATE records/s for SECONDS seconds, one record every 1000/RATE ms on average.
    const lname = `lat-${Date.now().toString(36)}`;
    const lsrc = `bench-${lname}`;
    const d = await call(api, token, 'POST', `/v1/models/${model}/streams`, {
      name: lname,
      source: lsrc,
      sink: `${lsrc}.out`,
      startAt: 'latest',
      options: { batchSize: 200, sinkMaxLen: 0 },
    });
    await sleep(2000); // the worker starts consuming (announced at once; polled every STREAM_SYNC_MS at worst)
    const total = RATE * SECONDS;
    const start = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
      if (due > sent) {
        await push(redis, d.keys.source, cols, sampleRows, sent, due - sent);
        sent = due;
      }
      await sleep(5);
    }
    const sendSeconds = (performance.now() - start) / 1000;
    await drained(api, token, model, lname, total);
    const results = await redis.xrange(d.keys.sink, '-', '+');
    const lat = results.map(([id, f]) => idMs(id) - idMs(f[f.indexOf('source_id') + 1])).sort((a, b) => a - b);
    log(`latency at ${RATE}/s: p50 ${q(lat, 0.5)} ms, p99 ${q(lat, 0.99)} ms over ${lat.length} records`);
    await call(api, token, 'DELETE', `/v1/models/${model}/streams/${lname}`);
    await redis.del(d.keys.source, d.keys.sink, d.keys.deadLetter);

    lines.push(
      `## Records/s through a stream deployment vs rows/s of a batch job (${model}, ${RECORDS.toLocaleString('en')} rows)`,
      '',
      'One worker process (WORKER_CONCURRENCY 2 for jobs; the stream is one consumer of its group), the same model',
      "and rows. Stream: the records wait in the source; timed from the deployment's creation until the lag and",
      'pending list are 0 and every result is in the sink (batches of 500, 4,000 in flight; one Redis XADD per',
      'result). Batch: `POST /v1/jobs` on a CSV in local storage until the output file is assembled.',
      '',
      '| path | seconds | records/s |',
      '|---|---:|---:|',
      `| stream deployment | ${streamSeconds.toFixed(2)} | ${Math.round(RECORDS / streamSeconds).toLocaleString('en')} |`,
      `| batch job | ${job.seconds.toFixed(2)} | ${Math.round(job.rows / job.seconds).toLocaleString('en')} |`,
      '',
      `## End-to-end latency at a steady ${RATE.toLocaleString('en')} records/s`,
      '',
      `${total.toLocaleString('en')} records over ${sendSeconds.toFixed(1)} s (pipelined every 5 ms), batches of up`,
      "to 200. Latency: the result's stream id time minus the source record's (both stamped by Redis at XADD).",
      '',
      '| records | p50 ms | p99 ms | max ms |',
      '|---:|---:|---:|---:|',
      `| ${lat.length.toLocaleString('en')} | ${q(lat, 0.5)} | ${q(lat, 0.99)} | ${lat[lat.length - 1]} |`,
    );
  } finally {
    redis.disconnect();
  }
  return lines;
}
