import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { loadApiConfig, loadWorkerConfig } from '@modelyard/config';

const CHART = path.resolve('deploy/helm/modelyard');
const HELM = path.resolve('node_modules/.bin/helm');
const SECRETS = ['--set', `secrets.values.SESSION_SECRET=${'s'.repeat(40)}`, '--set', `secrets.values.SECRET_KEY=${'k'.repeat(40)}`,
  '--set', 'secrets.values.S3_ACCESS_KEY_ID=AKIA', '--set', 'secrets.values.S3_SECRET_ACCESS_KEY=secret'];

/** Every kind the chart may render, with the Kubernetes (or CRD) schema it must satisfy. */
const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  ConfigMap, Secret, Service, Deployment, Job, HorizontalPodAutoscaler, PodDisruptionBudget, Ingress, ScaledObject,
  TriggerAuthentication, ServiceMonitor, PodMonitor,
};

type Manifest = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; [k: string]: any };

function render(args: string[]): { manifests: Manifest[]; stderr: string; status: number | null } {
  const r = spawnSync(HELM, ['template', 'my', CHART, ...args], { encoding: 'utf8' });
  if (r.status !== 0) return { manifests: [], stderr: r.stderr, status: r.status };
  const manifests = parseAllDocuments(r.stdout).map((d) => d.toJSON() as Manifest).filter(Boolean);
  return { manifests, stderr: r.stderr, status: r.status };
}

function validated(args: string[]): Manifest[] {
  const r = render(args);
  assert.equal(r.status, 0, r.stderr);
  for (const m of r.manifests) {
    const Model = MODELS[m.kind];
    assert.ok(Model, `the chart renders a ${m.kind}, which this test does not know how to validate`);
    assert.doesNotThrow(() => new Model(m as never).validate(), `${m.kind} ${m.metadata.name} is not a valid manifest`);
  }
  return r.manifests;
}

const find = (ms: Manifest[], kind: string, suffix: string) => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name.endsWith(suffix));
  assert.ok(m, `no ${kind} named *${suffix}`);
  return m;
};

/** The environment a container of `deployment` gets: its ConfigMap and Secret, then its own env. */
function envOf(ms: Manifest[], deployment: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  const c = deployment.spec.template.spec.containers[0];
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(ms, 'ConfigMap', from.configMapRef.name.replace(/^my-modelyard/, '')).data);
    if (from.secretRef) Object.assign(env, find(ms, 'Secret', from.secretRef.name.replace(/^my-modelyard/, '')).stringData);
  }
  for (const e of c.env ?? []) env[e.name] = e.value;
  return env;
}

describe('Helm chart (deploy/helm/modelyard)', () => {
  it('passes helm lint', () => {
    const r = spawnSync(HELM, ['lint', CHART, ...SECRETS], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('renders valid manifests: api behind /readyz with no unavailable replica during a rollout, CPU HPA, workers scaled by KEDA on BullMQ wait lists', () => {
    const ms = validated(SECRETS);
    const api = find(ms, 'Deployment', '-api');
    const c = api.spec.template.spec.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(api.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.equal(api.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.ok(c.volumeMounts.some((v: { mountPath: string }) => v.mountPath === '/tmp'), 'a writable /tmp for the model cache');
    const hpa = find(ms, 'HorizontalPodAutoscaler', '-api');
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    const so = find(ms, 'ScaledObject', '-worker');
    assert.equal(so.spec.scaleTargetRef.name, find(ms, 'Deployment', '-worker').metadata.name);
    assert.deepEqual(so.spec.triggers.map((t: any) => [t.type, t.metadata.listName]), [
      ['redis', 'modelyard:bull:batch:wait'], ['redis', 'modelyard:bull:predict:wait'], ['redis', 'modelyard:bull:registry:wait'], ['redis', 'modelyard:bull:webhooks:wait'],
    ]);
    assert.equal(find(ms, 'TriggerAuthentication', '-redis').spec.secretTargetRef[0].key, 'REDIS_URL');
    assert.equal(find(ms, 'Deployment', '-worker').spec.replicas, undefined, 'KEDA owns the worker replica count');
  });

  it('scales workers on a stream deployment\'s lag with a redis-streams trigger per listed stream', () => {
    const ms = validated([...SECRETS,
      '--set', 'worker.keda.streams[0].stream=modelyard:streams:orders', '--set', 'worker.keda.streams[0].group=modelyard-1',
      '--set', 'worker.keda.streams[1].stream=modelyard:streams:clicks', '--set', 'worker.keda.streams[1].group=modelyard-2',
      '--set', 'worker.keda.streams[1].lagCount=50']);
    const so = find(ms, 'ScaledObject', '-worker');
    const streams = so.spec.triggers.filter((t: any) => t.type === 'redis-streams');
    assert.deepEqual(streams.map((t: any) => [t.metadata.stream, t.metadata.consumerGroup, t.metadata.lagCount]), [
      ['modelyard:streams:orders', 'modelyard-1', '1000'], ['modelyard:streams:clicks', 'modelyard-2', '50'],
    ]);
    assert.ok(streams.every((t: any) => t.authenticationRef.name.endsWith('-redis')), 'the same Redis credentials as the queues');
  });

  it('migrates in a pre-install/pre-upgrade hook that runs after the Secret it reads', () => {
    const ms = validated(SECRETS);
    const job = find(ms, 'Job', '-migrate');
    assert.equal(job.metadata.annotations!['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['node', 'scripts/migrations.mjs', 'apply']);
    const secret = find(ms, 'Secret', '-secrets');
    assert.equal(secret.metadata.annotations!['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.ok(Number(secret.metadata.annotations!['helm.sh/hook-weight']) < Number(job.metadata.annotations!['helm.sh/hook-weight']));
  });

  it('gives api and worker a configuration they accept (parsed with the apps\' own config schemas)', () => {
    const ms = validated(SECRETS);
    const api = loadApiConfig(envOf(ms, find(ms, 'Deployment', '-api')));
    assert.equal(api.storage.defaultBackend, 's3');
    assert.equal(api.redis.prefix, 'modelyard');
    const worker = loadWorkerConfig(envOf(ms, find(ms, 'Deployment', '-worker')));
    assert.equal(worker.worker.heartbeatFile, '/tmp/modelyard-worker.alive');
    const web = find(ms, 'Deployment', '-web').spec.template.spec.containers[0];
    assert.equal(web.env.find((e: { name: string }) => e.name === 'API_URL').value, 'http://my-modelyard-api:8080');
  });

  it('sends the session cookie over https only and believes forwarded headers from the dashboard and ingress', () => {
    const ms = validated(SECRETS);
    const api = loadApiConfig(envOf(ms, find(ms, 'Deployment', '-api')));
    assert.equal(api.auth.cookieSecure, true);
    assert.equal(api.http.trustProxy, 'loopback,uniquelocal');
    assert.equal(envOf(ms, find(ms, 'Deployment', '-web')).WEB_TRUST_PROXY, 'uniquelocal');
  });

  it('refuses to render without the two secrets, and uses an existing Secret when named', () => {
    const r = render([]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /SESSION_SECRET and secrets.values.SECRET_KEY must each be at least 32 characters/);
    const ms = validated(['--set', 'secrets.existingSecret=prod-secrets']);
    assert.equal(ms.filter((m) => m.kind === 'Secret').length, 0);
    assert.equal(find(ms, 'Job', '-migrate').spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name, 'prod-secrets');
  });

  it('renders the optional parts: ingress, ServiceMonitor (api) and PodMonitor (workers) with an API key, fixed worker replicas without KEDA', () => {
    const ms = validated([...SECRETS, '--set', 'ingress.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true',
      '--set', 'metrics.serviceMonitor.apiKeySecret.name=prom-key', '--set', 'worker.keda.enabled=false', '--set', 'worker.replicas=3']);
    const ing = find(ms, 'Ingress', 'modelyard');
    assert.deepEqual(ing.spec.rules[0].http.paths.map((p: any) => [p.path, p.backend.service.name]), [['/v1', 'my-modelyard-api'], ['/v2', 'my-modelyard-api'], ['/', 'my-modelyard-web']]);
    const sm = find(ms, 'ServiceMonitor', '-api');
    assert.equal(sm.spec.endpoints[0].path, '/metrics');
    assert.equal(sm.spec.endpoints[0].authorization.credentials.name, 'prom-key');
    const pm = find(ms, 'PodMonitor', '-worker');
    assert.deepEqual([pm.spec.podMetricsEndpoints[0].port, pm.spec.podMetricsEndpoints[0].path], ['metrics', '/metrics']);
    assert.equal(pm.spec.podMetricsEndpoints[0].authorization.credentials.name, 'prom-key');
    assert.equal(ms.filter((m) => m.kind === 'ScaledObject').length, 0);
    assert.equal(find(ms, 'Deployment', '-worker').spec.replicas, 3);
  });
});

describe('docker compose (deploy/compose/docker-compose.yml)', () => {
  const compose = parse(readFileSync('deploy/compose/docker-compose.yml', 'utf8')) as { services: Record<string, any> };
  it('runs postgres, redis with noeviction, minio, a one-shot migration, api, worker and web', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['api', 'migrate', 'minio', 'minio-bucket', 'postgres', 'redis', 'seed', 'web', 'worker']);
    assert.ok(compose.services.redis.command.join(' ').includes('--maxmemory-policy noeviction'));
    for (const s of ['api', 'worker']) assert.equal(compose.services[s].depends_on.migrate.condition, 'service_completed_successfully');
    assert.equal(compose.services.migrate.build.target, 'migrate');
  });
  it('builds from Dockerfiles that exist, each ending as a non-root user with a health check', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.build) continue;
      const file = path.resolve('deploy/compose', s.build.context, s.build.dockerfile);
      assert.ok(existsSync(file), `${name}: ${file}`);
      const text = readFileSync(file, 'utf8');
      const runtime = text.slice(text.lastIndexOf('\nFROM '));
      if (s.build.target !== 'migrate') {
        assert.match(runtime, /\nUSER node\n/, `${file} runs as root`);
        assert.match(runtime, /\nHEALTHCHECK /, `${file} has no health check`);
        assert.match(runtime, /npm ci --omit=dev/, `${file} installs dev dependencies into the image`);
      }
    }
  });
});
