// node --experimental-websocket bench/live-heap.mjs PID PORT: prints {"liveMiB": n}, V8's heap in use after two
// full collections, read through the inspector of a node process (SIGUSR1 opens it on that process's
// --inspect-port). The bench's own process has no WebSocket without the flag, so bench/models.mjs runs this apart.
const [pid, port] = process.argv.slice(2).map(Number);
process.kill(pid, 'SIGUSR1');
let targets;
for (let i = 0; i < 50 && !targets; i++) {
  targets = await fetch(`http://127.0.0.1:${port}/json/list`)
    .then((r) => r.json())
    .catch(() => new Promise((r) => setTimeout(r, 100)));
}
if (!targets?.length) throw new Error(`no inspector on port ${port} of process ${pid}`);
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  ws.addEventListener('open', resolve);
  ws.addEventListener('error', reject);
});
let id = 0;
const waiting = new Map();
ws.addEventListener('message', (e) => {
  const m = JSON.parse(e.data);
  waiting.get(m.id)?.(m);
  waiting.delete(m.id);
});
const call = (method) =>
  new Promise((resolve) => {
    waiting.set(++id, resolve);
    ws.send(JSON.stringify({ id, method }));
  });
await call('HeapProfiler.collectGarbage');
await call('HeapProfiler.collectGarbage');
const usage = await call('Runtime.getHeapUsage');
console.log(JSON.stringify({ liveMiB: usage.result.usedSize / 2 ** 20 }));
ws.close();
