import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const CHART = path.resolve('deploy/helm/modelyard');
const HELM = path.resolve('node_modules/.bin/helm');
const RULES = path.resolve('deploy/prometheus/rules.yml');
const DASHBOARDS = path.resolve('deploy/grafana/dashboards');
const SECRETS = [
  '--set', `secrets.values.SESSION_SECRET=${'s'.repeat(40)}`, '--set', `secrets.values.SECRET_KEY=${'k'.repeat(40)}`,
];

type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> };
type Group = { name: string; rules: Rule[] };

function renderPrometheusRule(args: string[]) {
  const r = spawnSync(HELM, ['template', 'my', CHART, ...SECRETS, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as { kind: string; metadata: { labels: Record<string, string> }; spec: any })
    .filter((m) => m?.kind === 'PrometheusRule');
}

describe('shipped Prometheus rules and Grafana dashboards (deploy/prometheus, deploy/grafana)', () => {
  it('the chart renders no PrometheusRule unless metrics.prometheusRule.enabled', () => {
    assert.equal(renderPrometheusRule([]).length, 0);
  });

  it("the chart's PrometheusRule holds exactly the groups of deploy/prometheus/rules.yml, a valid resource", () => {
    const [rule, ...more] = renderPrometheusRule([
      '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.prometheusRule.labels.release=kube-prom',
    ]);
    assert.ok(rule, 'a PrometheusRule is rendered');
    assert.equal(more.length, 0);
    assert.doesNotThrow(() => new PrometheusRule(rule as never).validate());
    assert.equal(rule.metadata.labels.release, 'kube-prom', 'labels for the ruleSelector');
    const source = parse(readFileSync(RULES, 'utf8')) as { groups: Group[] };
    assert.deepEqual(
      rule.spec.groups,
      source.groups,
      'the chart has drifted from the one source: ' +
        'cp deploy/prometheus/rules.yml deploy/helm/modelyard/files/prometheus-rules.yml',
    );
  });

  it('pages for serving errors, latency, SLO burn, queues, jobs, drift, outbox and a down worker', () => {
    const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: Group[] }).groups;
    const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
    const names = alerts.map((a) => a.alert);
    for (const name of [
      'ModelyardModelErrorRateHigh', 'ModelyardModelLatencyHigh', 'ModelyardErrorBudgetBurnFast',
      'ModelyardErrorBudgetBurnSlow', 'ModelyardQueueBacklog', 'ModelyardJobsFailing', 'ModelyardDriftAlertFiring',
      'ModelyardPerformanceAlertFiring', 'ModelyardOutboxLagging', 'ModelyardWorkerDown',
    ]) {
      assert.ok(names.includes(name), `${name} is shipped`);
    }
    for (const a of alerts) assert.match(a.labels?.severity ?? '', /^(warning|critical)$/, `${a.alert} has a severity`);
  });

  it('every Grafana dashboard is an importable dashboard whose panels query Prometheus through a variable', () => {
    const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 2, 'serving and worker dashboards');
    const uids = new Set<string>();
    for (const f of files) {
      const d = JSON.parse(readFileSync(path.join(DASHBOARDS, f), 'utf8'));
      assert.ok(d.uid && !uids.has(d.uid), `${f}: a uid of its own`);
      uids.add(d.uid);
      assert.ok(d.title && d.schemaVersion >= 36, `${f}: title and schemaVersion`);
      const dsVar = d.templating.list.find((v: { type: string; name: string }) => v.type === 'datasource');
      assert.equal(dsVar?.name, 'datasource', `${f}: a datasource variable, so the dashboard imports into any Grafana`);
      const panels = d.panels.filter((p: { type: string }) => p.type !== 'row');
      assert.ok(panels.length > 0, `${f}: panels`);
      for (const p of panels) {
        assert.equal(p.datasource?.uid, '${datasource}', `${f} "${p.title}": panel datasource is the variable`);
        assert.ok(p.targets?.length > 0, `${f} "${p.title}": has queries`);
        for (const t of p.targets) assert.ok(t.expr, `${f} "${p.title}": target ${t.refId} has an expr`);
      }
    }
  });
});
