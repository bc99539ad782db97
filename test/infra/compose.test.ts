// docker-compose.redpanda.yml (no Docker here: read, not run) against the CLI, the Helm chart and
// the Prometheus scrape config: pinned images, real commands, the same processes, variables and
// ports as the chart, every process scraped.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { SINK_NAMES, STAGE_NAMES } from '../../src/assembly/run.js';
import { ALL_OPTIONS, chartValues, componentOf, deployments, render, ROOT, valuesFile, type Workload } from '../helpers/helm.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  restart?: string;
  secrets?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.redpanda.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string }>;
};
const services = compose.services;
const values = chartValues() as { adminPort: number; partitions: number; api: { port: number } };

/** The fillstream services: those running the image the repo's Dockerfile builds. */
const fillstream = Object.entries(services).filter(([, s]) => s.build !== undefined);
/** The long-running ones (stages, sinks, serve), not the one-shot jobs. */
const processes = fillstream.filter(([, s]) => s.restart !== 'no');

/** What a service's command runs, in the chart's terms: the stage or sink, `api` for serve. */
function componentOfCommand(cmd: string[]): string {
  if (cmd[0] === 'stage') return cmd[1];
  if (cmd[0] === 'serve') return 'api';
  return cmd.slice(0, 2).join(' ');
}
const flag = (cmd: string[], name: string): string | undefined => (cmd.includes(name) ? cmd[cmd.indexOf(name) + 1] : undefined);

/**
 * The CLI's commands as registered in src/cli: `name` for program.command('name'), `parent sub`
 * for the subcommands of `const x = program.command('parent')`. `serve` is on the ops contract
 * (README, the ops issue) and counted before it lands.
 */
function cliCommands(): Set<string> {
  const out = new Set(['serve']);
  for (const f of readdirSync(join(ROOT, 'src/cli')).filter((x) => x.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, 'src/cli', f), 'utf8');
    for (const m of text.matchAll(/program\s*\.command\('([\w-]+)'\)/g)) out.add(m[1]);
    for (const m of text.matchAll(/const (\w+) = program\s*\.command\('([\w-]+)'\)/g)) {
      for (const s of text.matchAll(new RegExp(`\\b${m[1]}\\s*\\.command\\('([\\w-]+)'\\)`, 'g'))) out.add(`${m[2]} ${s[1]}`);
    }
  }
  return out;
}

test('every image is pinned to a version: no latest, no bare name', () => {
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image, `${name}: no image`);
    const tag = /:([^/:]+)$/.exec(s.image)?.[1];
    assert.ok(tag, `${name}: ${s.image} has no tag`);
    assert.notEqual(tag, 'latest', `${name}: ${s.image}`);
    // The local build is tagged dev; a pulled image names a version.
    if (s.build === undefined) assert.match(tag, /^v?\d+(\.\d+)+/, `${name}: ${s.image} is not a version`);
  }
});

test('every fillstream service runs a real command: a CLI command, a stage or sink by name, serve', () => {
  const commands = cliCommands();
  assert.ok(commands.has('stage') && commands.has('topics create') && commands.has('audit migrate'), [...commands].join(', '));
  const stages: readonly string[] = [...STAGE_NAMES, ...SINK_NAMES];
  assert.ok(fillstream.length >= 7, fillstream.map(([n]) => n).join(', '));
  for (const [name, s] of fillstream) {
    const cmd = s.command ?? [];
    assert.ok(commands.has(cmd[0]) || commands.has(cmd.slice(0, 2).join(' ')), `${name}: ${cmd.join(' ')} is not a fillstream command`);
    if (cmd[0] === 'stage') assert.ok(stages.includes(cmd[1]), `${name}: no stage ${cmd[1]}`);
  }
});

test('the same processes as the chart, each on the same port and with the same arguments as its Deployment', () => {
  const ms = render();
  const chart = new Map(deployments(ms).map((d) => [componentOf(d), d.spec.template.spec.containers[0]]));
  const here = new Map(processes.map(([name, s]) => [componentOfCommand(s.command ?? []), { name, s }]));
  assert.deepEqual([...here.keys()].sort(), [...chart.keys()].sort());
  // The Kafka defaults: the fused decide stage and the gateway, plus both sinks.
  assert.deepEqual([...here.keys()].sort(), ['api', 'audit', 'decide', 'gateway', 'projector']);
  for (const [component, { name, s }] of here) {
    const cmd = s.command ?? [];
    // Same process, same flags: compose's command is the chart's container args.
    assert.deepEqual(cmd, chart.get(component)?.args, `${name}: compose and chart run it differently`);
    const port = component === 'api' ? values.api.port : values.adminPort;
    assert.equal(Number(flag(cmd, component === 'api' ? '--port' : '--admin-port')), port, `${name}: port`);
    assert.ok(
      (s.ports ?? []).some((p) => p.endsWith(`:${port}`)),
      `${name}: container port ${port} not published (${(s.ports ?? []).join(', ')})`,
    );
    // Named after its component (serve is `api`), as Prometheus' jobs and the chart's are.
    assert.equal(name, component);
  }
});

test('the same environment variables as the chart, process by process', () => {
  const ms = render(['-f', valuesFile(ALL_OPTIONS)]);
  for (const d of deployments(ms)) {
    const component = componentOf(d);
    const s = services[component];
    assert.ok(s, `no compose service ${component}`);
    const chartEnv = (d.spec.template.spec.containers[0].env ?? []).map((e) => e.name).sort();
    assert.deepEqual(Object.keys(s.environment ?? {}).sort(), chartEnv, `${component}: variables differ from the chart's`);
  }
  // The one-shot jobs against the chart's hook Jobs.
  const job = (c: string) => ms.find((m): m is Workload => m.kind === 'Job' && componentOf(m) === c)?.spec.template.spec.containers[0];
  for (const [service, component] of [
    ['topics', 'topics'],
    ['migrate', 'audit-migrate'],
  ] as const) {
    const c = job(component);
    assert.ok(c, `the chart has no ${component} Job`);
    assert.deepEqual(Object.keys(services[service].environment ?? {}).sort(), (c.env ?? []).map((e) => e.name).sort(), `${service}: variables`);
    assert.deepEqual(services[service].command?.slice(0, 2), c.args?.slice(0, 2), `${service}: command`);
  }
  assert.equal(Number(flag(services.topics.command ?? [], '--partitions')), values.partitions, 'topics: the chart default partitions');
});

test('the operator tokens reach serve as a file from a compose secret, and the default file has no token', () => {
  const api = services.api;
  assert.deepEqual(api.secrets, ['operator_tokens']);
  assert.equal(api.environment?.FILLSTREAM_OPERATOR_TOKENS_FILE, '/run/secrets/operator_tokens');
  const file = /:-(.+)\}$/.exec(compose.secrets?.operator_tokens.file ?? '')?.[1] ?? '';
  const lines = readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  assert.deepEqual(lines, [], `${file} must not hold tokens`);
});

test('Prometheus scrapes every fillstream process, as a job named after it, on its port; the rules file is alerts.yml', () => {
  const prom = parse(readFileSync(join(ROOT, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[];
  };
  const targets = new Map<string, string[]>();
  for (const sc of prom.scrape_configs) {
    const list = [...(sc.static_configs ?? []).flatMap((c) => c.targets), ...(sc.dns_sd_configs ?? []).flatMap((c) => c.names.map((n) => `${n}:${c.port}`))];
    targets.set(sc.job_name, list);
    assert.ok(sc.metrics_path === undefined || sc.job_name === 'redpanda', `${sc.job_name}: fillstream serves /metrics, the default path`);
  }
  for (const [name, s] of processes) {
    const port = s.command?.[0] === 'serve' ? values.api.port : values.adminPort;
    assert.deepEqual(targets.get(name), [`${name}:${port}`], `job ${name}`);
  }
  assert.deepEqual(prom.rule_files, ['alerts.yml']);
  const mounts = services.prometheus.volumes ?? [];
  assert.ok(mounts.includes('./infra/prometheus:/etc/prometheus:ro'), mounts.join(', '));
  assert.ok(services.prometheus.command?.includes('--config.file=/etc/prometheus/prometheus.yml'));
});
