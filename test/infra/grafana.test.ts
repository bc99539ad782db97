// The Grafana dashboards (infra/grafana/dashboards) read only metrics a fillstream process
// exports: the catalog in src/ops/metrics.ts, prom-client's defaults and Prometheus' `up`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { METRIC_NAMES } from '../../src/ops/metrics.js';
import { ROOT } from '../helpers/helm.js';
import { defaultMetricNames, promqlMetricNames } from '../helpers/promql.js';

const DIR = join(ROOT, 'infra/grafana');
const DASHBOARDS = join(DIR, 'dashboards');
const KNOWN = new Set([...METRIC_NAMES, ...defaultMetricNames()]);

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string | { query?: string }; definition?: string }[] };
}

const files = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .sort();
const dashboards = files.map((f) => ({ file: f, d: JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Dashboard }));

/** Every panel, rows' nested ones included. */
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

/** The PromQL of every panel target and every query variable (label_values(metric, label) → metric). */
function queries(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(d.panels)) for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `panel "${p.title}" ${t.refId ?? ''}`, expr: t.expr });
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    const m = /^label_values\((.*),\s*\w+\)$/.exec(q.trim());
    out.push({ where: `variable ${v.name}`, expr: m ? m[1] : q });
  }
  return out;
}

test('the five dashboards are there: pipeline overview, latency, venues, risk, sinks', () => {
  assert.deepEqual(files, ['latency.json', 'pipeline-overview.json', 'risk.json', 'sinks.json', 'venues.json']);
});

test('every dashboard parses and has its own uid and title', () => {
  const uids = dashboards.map(({ d }) => d.uid);
  const titles = dashboards.map(({ d }) => d.title);
  for (const { file, d } of dashboards) {
    assert.match(d.uid, /^[\w-]{1,40}$/, `${file}: uid`);
    assert.ok(d.title, `${file}: title`);
    assert.ok(allPanels(d.panels).length > 0, `${file}: no panels`);
  }
  assert.equal(new Set(uids).size, uids.length, `uids repeat: ${uids.join(', ')}`);
  assert.equal(new Set(titles).size, titles.length, `titles repeat: ${titles.join(', ')}`);
});

test('every panel has a unique id and every query panel a Prometheus data source and an expression', () => {
  for (const { file, d } of dashboards) {
    const panels = allPanels(d.panels);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, `${file}: panel ids repeat`);
    for (const p of panels.filter((x) => x.type !== 'row')) {
      assert.ok(p.targets && p.targets.length > 0, `${file} "${p.title}": no targets`);
      for (const t of p.targets) {
        assert.ok(t.expr && t.expr.trim() !== '', `${file} "${p.title}": empty expression`);
        assert.equal((t.datasource ?? p.datasource)?.type, 'prometheus', `${file} "${p.title}": data source`);
      }
    }
  }
});

test('every metric a dashboard reads is in METRIC_NAMES or a prom-client/Prometheus default', () => {
  const unknown: string[] = [];
  let checked = 0;
  for (const { file, d } of dashboards) {
    for (const { where, expr } of queries(d)) {
      const names = promqlMetricNames(expr);
      assert.ok(names.length > 0, `${file} ${where}: no metric found in ${expr}`);
      checked += names.length;
      for (const n of names) if (!KNOWN.has(n)) unknown.push(`${file} ${where}: ${n}`);
    }
  }
  assert.deepEqual(unknown, []);
  assert.ok(checked > 50, `only ${checked} metric references checked`);
});

test('every fillstream_* metric of the catalog is on some dashboard (counting a histogram once for any of its series)', () => {
  const used = new Set(dashboards.flatMap(({ d }) => queries(d).flatMap((q) => promqlMetricNames(q.expr))));
  const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
  const usedBase = new Set([...used].map(base));
  const missing = [...new Set(METRIC_NAMES.map(base))].filter((n) => !usedBase.has(n));
  assert.deepEqual(missing, []);
});

test('the metric-name extractor keeps metrics and drops functions, labels, strings, ranges, numbers and variables', () => {
  assert.deepEqual(promqlMetricNames('histogram_quantile(0.99, sum by (le, venue) (rate(fillstream_submit_to_ack_seconds_bucket{venue=~"$venue"}[$__rate_interval])))'), [
    'fillstream_submit_to_ack_seconds_bucket',
  ]);
  assert.deepEqual(promqlMetricNames('count(max by (scope) (fillstream_trading_state) == 2) or vector(0)'), ['fillstream_trading_state']);
  assert.deepEqual(promqlMetricNames('a_total / on (sink) group_left (x) clamp_min(label_replace(b{job="p"}, "sink", "$1", "job", "(.*)"), 1e-9)'), ['a_total', 'b']);
  assert.deepEqual(promqlMetricNames('{__name__="foo_bar", job="x"} offset 1h30m > bool 0.5 unless up == 0'), ['foo_bar', 'up']);
  assert.deepEqual(promqlMetricNames('increase(fillstream_fills_total[1h] @ end()) and ignoring (job) rate(x[5m:30s])'), ['fillstream_fills_total', 'x']);
  // A misspelt function is not a function: it comes out, so a catalog check catches it.
  assert.deepEqual(promqlMetricNames('rat(fillstream_fills_total[5m])'), ['fillstream_fills_total', 'rat']);
});

test('provisioning: the data source is the compose Prometheus, and the dashboards provider reads where compose mounts the dashboards', () => {
  const ds = parse(readFileSync(join(DIR, 'provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { type: string; url: string; uid: string }[] };
  assert.equal(ds.datasources.length, 1);
  assert.equal(ds.datasources[0].type, 'prometheus');
  assert.equal(ds.datasources[0].url, 'http://prometheus:9090');
  const prov = parse(readFileSync(join(DIR, 'provisioning/dashboards/fillstream.yml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.redpanda.yml'), 'utf8'), { merge: true }) as { services: Record<string, { volumes?: string[] }> };
  const mounts = compose.services.grafana.volumes ?? [];
  assert.ok(
    mounts.some((m) => m.startsWith(`./infra/grafana/dashboards:${prov.providers[0].options.path}`)),
    `dashboards mounted at ${prov.providers[0].options.path}: ${mounts.join(', ')}`,
  );
  assert.ok(mounts.some((m) => m.startsWith('./infra/grafana/provisioning:/etc/grafana/provisioning')));
  // The dashboards' data source variable picks a Prometheus data source, the provisioned one by default.
  for (const { file, d } of dashboards)
    assert.ok(
      d.templating?.list.some((v) => v.type === 'datasource' && v.query === 'prometheus'),
      `${file}: no datasource variable`,
    );
});
