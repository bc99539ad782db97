// A real Prometheus (built by infra/dev/prometheus.sh) scrapes a running `fillstream serve` with
// the shipped alert rules: the target is up, the figures arrive, and when an operator halts the
// pipeline the FillstreamHalted alert fires for that scope.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateIntents } from '../../src/tools/generate.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { ALICE, post, serveInProcess, until, type Served } from '../helpers/serve.js';

const SCRIPT = join(ROOT, 'infra/dev/prometheus.sh');

describe('Prometheus scrapes serve and fires the halt alert', () => {
  let s: Served;
  let prometheus: string;
  let runDir: string;

  before(async () => {
    const dir = tempDir('prometheus');
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, [...generateIntents({ count: 200, seed: 2 })].join('\n') + '\n');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents });
    const target = new URL(s.url).host;
    // Started while this process's event loop is free to answer the scrapes that follow.
    const out = execFileSync(SCRIPT, ['start', '--scrape', target, '--rules', join(ROOT, 'infra/prometheus/alerts.yml'), '--interval', '1s'], { encoding: 'utf8' });
    const vars = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    prometheus = vars.PROMETHEUS_URL;
    runDir = vars.PROMETHEUS_RUN_DIR;
  });
  after(async () => {
    if (runDir) execFileSync(SCRIPT, ['stop', runDir], { stdio: 'inherit' });
    await s?.stop();
  });

  const query = async (q: string) => {
    const r = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(q)}`);
    return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
  };

  it('scrapes the target and its figures', async () => {
    await until('the target up', async () => ((await query('up'))[0]?.value[1] === '1' ? true : undefined), 30_000);
    const intents = await until('fillstream_intents_total scraped', async () => (await query('fillstream_intents_total'))[0]?.value[1], 30_000);
    assert.ok(Number(intents) >= 200);
    const alerts = ((await (await fetch(`${prometheus}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string }[] }[] } }).data.groups.flatMap((g) =>
      g.rules.map((r) => r.name),
    );
    assert.ok(alerts.includes('FillstreamHalted') && alerts.includes('FillstreamStageLagging'), alerts.join(','));
  });

  it('fires FillstreamHalted once an operator halts a scope', async () => {
    const firing = async () => {
      const r = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return r.data.alerts.filter((a) => a.labels.alertname === 'FillstreamHalted' && a.state === 'firing');
    };
    assert.deepEqual(await firing(), [], 'nothing halted yet');
    const r = await post(`${s.url}/control/halt`, { scope: 'global', reason: 'alert test' }, ALICE.token);
    assert.equal(r.status, 200);
    const alerts = await until('the halt alert firing', async () => ((await firing()).length > 0 ? firing() : undefined), 30_000);
    assert.equal(alerts[0].labels.scope, 'global');
  });
});
