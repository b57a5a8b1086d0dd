import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { loadApiConfig, loadWorkerConfig } from '@modelyard/config';
import { startS3Server } from '@modelyard/testing';

const CHART = path.resolve('deploy/helm/modelyard');
const HELM = path.resolve('node_modules/.bin/helm');
const TWO_SECRETS = ['--set', `secrets.values.SESSION_SECRET=${'s'.repeat(40)}`, '--set', `secrets.values.SECRET_KEY=${'k'.repeat(40)}`];
const SECRETS = [...TWO_SECRETS, '--set', 'secrets.values.S3_ACCESS_KEY_ID=AKIA', '--set', 'secrets.values.S3_SECRET_ACCESS_KEY=secret'];

/** Every kind the chart may render, with the Kubernetes (or CRD) schema it must satisfy. */
const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  ConfigMap, Secret, Service, ServiceAccount, Deployment, Job, HorizontalPodAutoscaler, PodDisruptionBudget, Ingress, ScaledObject,
  TriggerAuthentication, ServiceMonitor, PodMonitor,
};

type Manifest = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; [k: string]: any };

function render(args: string[], chart = CHART): { manifests: Manifest[]; stderr: string; status: number | null } {
  const r = spawnSync(HELM, ['template', 'my', chart, ...args], { encoding: 'utf8' });
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
    // Secrets of yours (extraEnvFrom) are not rendered: their keys are unknown here.
    if (from.secretRef?.name.startsWith('my-modelyard'))
      Object.assign(env, find(ms, 'Secret', from.secretRef.name.replace(/^my-modelyard/, '')).stringData);
  }
  for (const e of c.env ?? []) env[e.name] = e.value ?? `<${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}>`;
  return env;
}

/** A values file in a temp folder (structured values that --set cannot express). */
function valuesFile(values: unknown): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-values-'));
  const file = path.join(dir, 'values.json');
  writeFileSync(file, JSON.stringify(values));
  return ['-f', file];
}

/** Every pod template the chart renders, by its component label. */
function podsOf(ms: Manifest[]): Record<string, any> {
  const pods: Record<string, any> = {};
  for (const m of ms) {
    if (m.kind !== 'Deployment' && m.kind !== 'Job') continue;
    pods[m.spec.template.metadata.labels['app.kubernetes.io/component']] = m.spec.template;
  }
  return pods;
}

describe('Helm chart (deploy/helm/modelyard)', () => {
  it('passes helm lint --strict, with the defaults and with every optional part on', () => {
    for (const extra of [[], ['--set', 'ingress.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true',
      '--set', 'metrics.serviceMonitor.apiKeySecret.name=prom-key', '--set', 'worker.keda.enabled=false']]) {
      const r = spawnSync(HELM, ['lint', '--strict', CHART, ...SECRETS, ...extra], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
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

  it('migrates in a pre-install/pre-upgrade hook that reads DATABASE_URL from a hook Secret made before it and deleted once the hooks succeeded', () => {
    const ms = validated(SECRETS);
    const job = find(ms, 'Job', '-migrate');
    assert.equal(job.metadata.annotations!['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['node', 'scripts/migrations.mjs', 'apply']);
    const ref = job.spec.template.spec.containers[0].env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef;
    const hookSecret = find(ms, 'Secret', '-migrate');
    assert.equal(ref.name, hookSecret.metadata.name);
    assert.deepEqual(Object.keys(hookSecret.stringData), ['DATABASE_URL'], 'the hook Secret holds nothing but the database URL');
    assert.equal(hookSecret.metadata.annotations!['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.ok(Number(hookSecret.metadata.annotations!['helm.sh/hook-weight']) < Number(job.metadata.annotations!['helm.sh/hook-weight']));
    assert.match(hookSecret.metadata.annotations!['helm.sh/hook-delete-policy'], /hook-succeeded/);
    // A hook pod cannot use an account the release creates after the hooks.
    assert.equal(job.spec.template.spec.serviceAccountName, undefined);
  });

  it('keeps the apps\' secrets in an ordinary Secret (not a hook, so helm uninstall removes it) and rolls the pods when it changes', () => {
    const ms = validated(SECRETS);
    const secret = find(ms, 'Secret', '-secrets');
    assert.equal(secret.metadata.annotations?.['helm.sh/hook'], undefined);
    assert.deepEqual(ms.filter((m) => m.metadata.annotations?.['helm.sh/hook']).map((m) => `${m.kind}/${m.metadata.name}`).sort(),
      ['Job/my-modelyard-migrate', 'Secret/my-modelyard-migrate'], 'only the migration and its database URL are hooks');
    const checksum = (args: string[]) => find(validated(args), 'Deployment', '-api').spec.template.metadata.annotations['checksum/secrets'];
    assert.notEqual(checksum(SECRETS), checksum([...SECRETS, '--set', `secrets.values.SECRET_KEY=${'n'.repeat(40)}`]));
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

  it('takes single keys from Secrets of yours (secrets.fromSecrets): the database operator\'s URL, the Redis URL, the session secret', () => {
    const ms = validated([...valuesFile({ secrets: { values: { SECRET_KEY: 'k'.repeat(40) }, fromSecrets: {
      DATABASE_URL: { name: 'pg-app', key: 'uri' }, REDIS_URL: { name: 'redis-auth', key: 'url' }, SESSION_SECRET: { name: 'sessions' } } } })]);
    for (const name of ['-api', '-worker']) {
      const env = find(ms, 'Deployment', name).spec.template.spec.containers[0].env;
      const ref = (k: string) => env.find((e: any) => e.name === k)?.valueFrom?.secretKeyRef;
      assert.deepEqual(ref('DATABASE_URL'), { name: 'pg-app', key: 'uri' });
      assert.deepEqual(ref('REDIS_URL'), { name: 'redis-auth', key: 'url' });
      assert.deepEqual(ref('SESSION_SECRET'), { name: 'sessions', key: 'SESSION_SECRET' });
    }
    const secret = find(ms, 'Secret', '-secrets');
    assert.deepEqual(Object.keys(secret.stringData).sort(), ['SECRET_KEY'], 'keys from other Secrets are not copied into the chart\'s');
    assert.equal(ms.filter((m) => m.kind === 'Secret' && m.metadata.name.endsWith('-migrate')).length, 0);
    const migrate = find(ms, 'Job', '-migrate').spec.template.spec.containers[0];
    assert.deepEqual(migrate.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef, { name: 'pg-app', key: 'uri' });
    const auth = find(ms, 'TriggerAuthentication', '-redis').spec.secretTargetRef[0];
    assert.deepEqual([auth.name, auth.key], ['redis-auth', 'url']);
    // The 32-character check applies only to what the chart itself stores.
    const short = render(valuesFile({ secrets: { values: { SECRET_KEY: 'short' }, fromSecrets: { SESSION_SECRET: { name: 's' } } } }));
    assert.match(short.stderr, /at least 32 characters/);
  });

  it('gives api and worker a service account with your annotations (IRSA, Workload Identity) and mounts no API token anywhere', () => {
    const ms = validated([...TWO_SECRETS, ...valuesFile({
      serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/modelyard' } },
      podLabels: { 'azure.workload.identity/use': 'true' },
    })]);
    const sa = find(ms, 'ServiceAccount', 'my-modelyard');
    assert.equal(sa.metadata.annotations!['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/modelyard');
    assert.equal(sa.automountServiceAccountToken, false);
    const pods = podsOf(ms);
    assert.deepEqual(Object.keys(pods).sort(), ['api', 'migrate', 'web', 'worker']);
    assert.equal(pods.api.spec.serviceAccountName, 'my-modelyard');
    assert.equal(pods.worker.spec.serviceAccountName, 'my-modelyard');
    assert.equal(pods.web.spec.serviceAccountName, undefined, 'the dashboard needs no cloud identity');
    for (const [name, pod] of Object.entries(pods)) {
      assert.equal(pod.spec.automountServiceAccountToken, false, name);
      assert.equal(pod.metadata.labels['azure.workload.identity/use'], 'true', name);
    }
    // Without static keys the apps still start: the SDK's default chain finds the pod identity.
    const api = loadApiConfig(envOf(ms, find(ms, 'Deployment', '-api')));
    assert.equal(api.storage.s3!.accessKeyId, undefined);
    assert.equal(loadWorkerConfig(envOf(ms, find(ms, 'Deployment', '-worker'))).storage.s3!.bucket, 'modelyard');
    const named = validated([...SECRETS, '--set', 'serviceAccount.create=false', '--set', 'serviceAccount.name=platform-identity']);
    assert.equal(named.filter((m) => m.kind === 'ServiceAccount').length, 0);
    assert.equal(find(named, 'Deployment', '-api').spec.template.spec.serviceAccountName, 'platform-identity');
  });

  it('stores artifacts on Azure with the pod identity when given an account URL instead of a connection string', () => {
    const ms = validated([...SECRETS, '--set', 'config.STORAGE_DEFAULT=azure', '--set', 'config.AZURE_CONTAINER=models',
      '--set', 'config.AZURE_STORAGE_ACCOUNT_URL=https://acct.blob.core.windows.net']);
    const cfg = loadWorkerConfig(envOf(ms, find(ms, 'Deployment', '-worker')));
    assert.deepEqual(cfg.storage.azure, { accountUrl: 'https://acct.blob.core.windows.net', container: 'models' });
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

  it('schedules each component by its own nodeSelector, tolerations, affinity and topology spread (selector filled in)', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['c7i.2xlarge'] }] }] } } };
    const ms = validated([...SECRETS, ...valuesFile({
      worker: { nodeSelector: { pool: 'batch' }, tolerations: [{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }], affinity,
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }] },
      web: { nodeSelector: { pool: 'edge' } },
      migrations: { tolerations: [{ key: 'batch', operator: 'Exists' }] },
    })]);
    const pods = podsOf(ms);
    assert.deepEqual(pods.worker.spec.nodeSelector, { pool: 'batch' });
    assert.equal(pods.worker.spec.tolerations[0].key, 'batch');
    assert.deepEqual(pods.worker.spec.affinity, affinity);
    assert.deepEqual(pods.worker.spec.topologySpreadConstraints[0].labelSelector.matchLabels,
      { 'app.kubernetes.io/component': 'worker', 'app.kubernetes.io/instance': 'my', 'app.kubernetes.io/name': 'modelyard' });
    assert.deepEqual(pods.web.spec.nodeSelector, { pool: 'edge' });
    assert.equal(pods.migrate.spec.tolerations[0].key, 'batch');
    assert.equal(pods.api.spec.nodeSelector, undefined, 'one component\'s scheduling is not another\'s');
    // The api spreads over nodes by default, without ever blocking a rollout.
    const spread = pods.api.spec.topologySpreadConstraints[0];
    assert.deepEqual([spread.topologyKey, spread.whenUnsatisfiable, spread.labelSelector.matchLabels['app.kubernetes.io/component']],
      ['kubernetes.io/hostname', 'ScheduleAnyway', 'api']);
  });

  it('adds extra env, envFrom, volumes and mounts: the chart-wide ones to every pod, a component\'s to its own', () => {
    const ms = validated([...SECRETS, ...valuesFile({
      extraEnv: [{ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/corp-ca/ca.pem' }],
      extraVolumes: [{ name: 'corp-ca', configMap: { name: 'corp-ca' } }],
      extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/corp-ca', readOnly: true }],
      api: { extraEnv: [{ name: 'RATE_LIMIT_RPS', value: '500' }], extraEnvFrom: [{ secretRef: { name: 'oidc' } }],
        podAnnotations: { 'prometheus.io/scrape': 'false' } },
      worker: { extraEnv: [{ name: 'HOSTNAME_COPY', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
        extraVolumes: [{ name: 'scratch', emptyDir: { sizeLimit: '20Gi' } }], extraVolumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] },
    })]);
    const pods = podsOf(ms);
    for (const [name, pod] of Object.entries(pods)) {
      const c = pod.spec.containers[0];
      assert.ok(c.env.some((e: any) => e.name === 'NODE_EXTRA_CA_CERTS'), `${name}: chart-wide extraEnv`);
      assert.ok(c.volumeMounts.some((v: any) => v.mountPath === '/etc/corp-ca'), `${name}: chart-wide mount`);
      assert.ok(pod.spec.volumes.some((v: any) => v.name === 'corp-ca'), `${name}: chart-wide volume`);
    }
    const api = pods.api.spec.containers[0];
    assert.equal(api.env.find((e: any) => e.name === 'RATE_LIMIT_RPS').value, '500');
    assert.deepEqual(api.envFrom.at(-1), { secretRef: { name: 'oidc' } });
    assert.equal(pods.api.metadata.annotations['prometheus.io/scrape'], 'false');
    assert.ok(pods.api.metadata.annotations['checksum/config'], 'a component\'s annotations add to the chart\'s own');
    const worker = pods.worker.spec.containers[0];
    assert.ok(worker.env.some((e: any) => e.name === 'HOSTNAME_COPY' && e.valueFrom.fieldRef));
    assert.ok(worker.volumeMounts.some((v: any) => v.mountPath === '/scratch'));
    assert.ok(pods.worker.spec.volumes.some((v: any) => v.name === 'scratch'));
    assert.ok(!api.env.some((e: any) => e.name === 'HOSTNAME_COPY'), 'the worker\'s extras stay on the worker');
    assert.equal(loadApiConfig(envOf(ms, find(ms, 'Deployment', '-api'))).serving.rateLimit.rps, 500);
  });

  it('runs every pod as non-root with the runtime\'s seccomp profile, and every container read-only, unprivileged, without capabilities', () => {
    const pods = podsOf(validated(SECRETS));
    for (const [name, pod] of Object.entries(pods)) {
      assert.equal(pod.spec.securityContext.runAsNonRoot, true, name);
      assert.equal(pod.spec.securityContext.seccompProfile.type, 'RuntimeDefault', name);
      for (const c of pod.spec.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, name);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, name);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], name);
      }
    }
  });

  it('refuses values that break values.schema.json, naming the bad key', () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'api.replicas=two'], /api\.replicas: Invalid type. Expected: integer, given: string/],
      [['--set', 'secrets.existingSecrets=typo'], /secrets: Additional property existingSecrets is not allowed/],
      [['--set', 'nodeSelector.pool=batch'], /\(root\): Additional property nodeSelector is not allowed/],
      [['--set', 'config.STORAGE_DEFAULT=gcs'], /config\.STORAGE_DEFAULT: config\.STORAGE_DEFAULT must be one of/],
      [['--set', 'worker.keda.queues[0]=emails'], /worker\.keda\.queues\.0/],
      [['--set', 'image.pullPolicy=Sometimes'], /image\.pullPolicy/],
      [valuesFile({ api: { extraEnv: [{ value: 'no name' }] } }), /api\.extraEnv\.0: name is required/],
      [valuesFile({ serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 42 } } }), /serviceAccount\.annotations\.eks\.amazonaws\.com\/role-arn: Invalid type/],
      [valuesFile({ secrets: { fromSecrets: { DATABASE_URL: { key: 'uri' } } } }), /secrets\.fromSecrets\.DATABASE_URL: name is required/],
      [valuesFile({ web: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'Sometimes' }] } }), /whenUnsatisfiable/],
    ];
    for (const [args, why] of cases) {
      const r = render([...SECRETS, ...args]);
      assert.notEqual(r.status, 0, `${args.join(' ')} rendered`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      assert.match(r.stderr, why);
    }
  });

  it('prints NOTES that say how to reach the install and warn when S3 has neither keys nor a pod identity', () => {
    // helm template leaves NOTES.txt out (install --dry-run needs a cluster): render it through a copy of the chart.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-chart-'));
    try {
      cpSync(CHART, dir, { recursive: true });
      // .Files cannot read templates/: the copy gets the notes beside the chart's files as well.
      cpSync(path.join(CHART, 'templates/NOTES.txt'), path.join(dir, 'notes-under-test.txt'));
      writeFileSync(path.join(dir, 'templates/zz-notes.yaml'), 'notes: |\n{{ tpl (.Files.Get "notes-under-test.txt") . | indent 2 }}\n');
      const notes = (args: string[]) => {
        const r = spawnSync(HELM, ['template', 'my', dir, '--show-only', 'templates/zz-notes.yaml', ...SECRETS, ...args], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return (parse(r.stdout) as { notes: string }).notes;
      };
      const plain = notes([]);
      assert.match(plain, /kubectl -n default port-forward svc\/my-modelyard-api 8080:8080/);
      assert.match(plain, /rollout status deployment\/my-modelyard-api/);
      assert.doesNotMatch(plain, /WARNING/);
      assert.match(notes(['--set', 'ingress.enabled=true', '--set', 'ingress.host=ml.acme.io']), /Dashboard: +http:\/\/ml\.acme\.io\//);
      const keyless = ['--set', 'secrets.values.S3_ACCESS_KEY_ID=', '--set', 'secrets.values.S3_SECRET_ACCESS_KEY='];
      assert.match(notes(keyless), /WARNING: serviceAccount.annotations is empty/);
      assert.doesNotMatch(notes([...keyless, '--set', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/m']), /WARNING/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker compose (deploy/compose/docker-compose.yml)', () => {
  const compose = parse(readFileSync('deploy/compose/docker-compose.yml', 'utf8'), { merge: true }) as {
    services: Record<string, any>;
    'x-app-env': Record<string, string>;
  };
  it('runs postgres, redis with noeviction, an S3 server (RustFS), a one-shot migration, api, worker and web', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['api', 'migrate', 'postgres', 'redis', 's3', 's3-bucket', 'seed', 'web', 'worker']);
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

  it('builds every image on Node 22 LTS pinned by digest, installing with npm ci and no install scripts', () => {
    for (const file of ['api', 'worker', 'web'].map((n) => `deploy/docker/${n}.Dockerfile`)) {
      const text = readFileSync(file, 'utf8');
      const base = /^ARG NODE_IMAGE=(.+)$/m.exec(text)?.[1];
      assert.match(base ?? '', /^node:22\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/, `${file}: base image`);
      const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
      assert.ok(froms.every((f) => f === '${NODE_IMAGE}' || f === 'build'), `${file}: every stage on the pinned base (${froms})`);
      const installs = [...text.matchAll(/npm (ci|install)[^\n]*/g)].map((m) => m[0]);
      assert.equal(installs.length, 2, `${file}: one install per stage`);
      for (const i of installs) assert.match(i, /^npm ci --(omit=dev --)?ignore-scripts /, `${file}: ${i}`);
    }
  });

  it('starts the api with the node flags npm start gives it (scripts/platform.mjs API_NODE_FLAGS): image, compose, chart, npm script', async () => {
    const { API_NODE_FLAGS } = (await import(pathToFileURL(path.resolve('scripts/platform.mjs')).href)) as { API_NODE_FLAGS: string[] };
    assert.ok(API_NODE_FLAGS.length > 0);
    const image = readFileSync('deploy/docker/api.Dockerfile', 'utf8');
    const cmd = /\nCMD (\[.*\])\s*$/.exec(image)?.[1];
    assert.deepEqual(JSON.parse(cmd ?? '[]'), ['node', ...API_NODE_FLAGS, 'apps/api/dist/main.js']);
    // Neither compose nor the chart replaces the image's command.
    assert.equal(compose.services.api.command, undefined);
    assert.equal(compose.services.api.entrypoint, undefined);
    const c = find(validated(SECRETS), 'Deployment', '-api').spec.template.spec.containers[0];
    assert.equal(c.command, undefined);
    assert.equal(c.args, undefined);
    const pkg = JSON.parse(readFileSync('apps/api/package.json', 'utf8')) as { scripts: { start: string } };
    assert.equal(pkg.scripts.start, ['node', ...API_NODE_FLAGS, 'dist/main.js'].join(' '));
  });

  it('pins every service image and gives every long-running service a health check', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.image) {
        assert.doesNotMatch(s.image, /:latest(@|$)/, `${name}: ${s.image}`);
        assert.match(s.image, /:[\w.-]*\d[\w.-]*(@sha256:[0-9a-f]{64})?$/, `${name} is not pinned: ${s.image}`);
      }
      if (s.restart === 'no') continue; // a one-shot, which the services after it wait for by its exit code
      const own = Array.isArray(s.healthcheck?.test);
      const file = s.build && readFileSync(path.resolve('deploy/compose', s.build.context, s.build.dockerfile), 'utf8');
      assert.ok(own || (file && /\nHEALTHCHECK /.test(file.slice(file.lastIndexOf('\nFROM ')))), `${name} has no health check`);
    }
    for (const s of ['api', 'worker']) assert.equal(compose.services[s].depends_on['s3-bucket'].condition, 'service_completed_successfully');
    assert.equal(compose.services.web.depends_on.api.condition, 'service_healthy');
  });

  it('creates the bucket with its one-shot service, and a second run finds it there', async () => {
    const s3 = await startS3Server({ bucket: 'unused' });
    try {
      const svc = compose.services['s3-bucket'];
      assert.deepEqual(svc.command.slice(0, 2), ['node', '-e']);
      const env = { ...process.env, ...compose['x-app-env'], S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_BUCKET: 'compose-bucket' };
      for (let run = 0; run < 2; run++) {
        const r = spawnSync(process.execPath, ['-e', svc.command[2]], { env, encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /bucket ready/);
      }
      const list = spawnSync(process.execPath, ['-e', `import('@aws-sdk/client-s3').then(async ({ S3Client, ListBucketsCommand }) => {
        const s3 = new S3Client({ endpoint: ${JSON.stringify(s3.endpoint)}, region: 'us-east-1', forcePathStyle: true,
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
        console.log((await s3.send(new ListBucketsCommand({}))).Buckets.map((b) => b.Name).join(','));
      })`], { encoding: 'utf8', timeout: 30_000 });
      assert.match(list.stdout, /compose-bucket/);
    } finally {
      await s3.stop();
    }
  });
});
