// The operating surface on Kafka with every part its own process: the decide and gateway stages,
// each with its admin port, and `serve --bus kafka`. Intents go in; each stage's health, readiness
// and metrics answer; the API lists the orders and an operator's halt reaches the decide stage;
// and a real Jaeger holds one trace per intent with every stage's span under the intent's own.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOPICS } from '../../src/domain/events.js';
import { intentSpanId, traceIdForIntent } from '../../src/domain/trace.js';
import { KAFKA_TOPICS, kafkaClientOf, openKafkaLog } from '../../src/log/kafka/index.js';
import type { EventLog } from '../../src/log/types.js';
import { Status } from '../../src/ops/contract.js';
import { generateIntents } from '../../src/tools/generate.js';
import { CLI, ROOT, cli, requireBuild, tempDir } from '../helpers/cli.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { ALICE, getJson, post, until } from '../helpers/serve.js';

requireBuild();

interface Proc {
  child: ChildProcess;
  stderr: string;
  url: string;
}

/** Starts a CLI process and waits for the URL it prints (`admin on URL` or `serving URL`). */
async function start(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const p: Proc = { child, stderr: '', url: '' };
  child.stderr.on('data', (d: Buffer) => (p.stderr += d.toString('utf8')));
  p.url = await until(
    `${args.slice(0, 2).join(' ')} listening`,
    () => {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}: ${p.stderr}`);
      return pattern.exec(p.stderr)?.[1];
    },
    90_000,
  );
  return p;
}

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  processID: string;
}

describe('ops on Kafka: stage admin ports, serve, and traces in Jaeger', () => {
  const prefix = `ops${randomUUID().slice(0, 8)}.`;
  const procs: Proc[] = [];
  let log: EventLog;
  let jaeger: { otlp: string; query: string } | undefined;
  let decide: Proc;
  let gateway: Proc;
  let serve: Proc;
  const intents = [...generateIntents({ count: 40, seed: 9, badRatio: 0 })].map((l) => JSON.parse(l) as { intent_id: string; account: string });

  before(async () => {
    const out = execFileSync(join(ROOT, 'infra/dev/jaeger.sh'), ['start'], { encoding: 'utf8' });
    const vars = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    jaeger = { otlp: vars.JAEGER_OTLP_HTTP, query: vars.JAEGER_QUERY_URL };
    const env = {
      ...process.env,
      FILLSTREAM_TOPIC_PREFIX: prefix,
      FILLSTREAM_OPERATOR_TOKENS: `${ALICE.name}:${ALICE.token}`,
      FILLSTREAM_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlp,
    };
    // The CLI runs inherit it.
    process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
    const created = cli(['topics', 'create', '--partitions', '2'], undefined, 120_000);
    assert.equal(created.status, 0, created.stderr);
    const dir = tempDir('kafka-ops');
    [decide, gateway, serve] = await Promise.all([
      start(['stage', 'decide', '--data-dir', join(dir, 'decide'), '--admin-port', '0'], env, /admin on (http:\/\/\S+?);/),
      start(['stage', 'gateway', '--data-dir', join(dir, 'gateway'), '--admin-port', '0'], env, /admin on (http:\/\/\S+?);/),
      start(['serve', '--bus', 'kafka', '--data-dir', join(dir, 'serve'), '--port', '0'], env, /serving (http:\/\/\S+?) /),
    ]);
    procs.push(decide, gateway, serve);
    log = await openKafkaLog({ brokers: kafkaBrokers(), clientId: 'fillstream-test-ops', topicPrefix: prefix, client: kafkaClientOf({}) }, KAFKA_TOPICS);
    await log.append(intents.map((i) => ({ topic: TOPICS.intents, key: i.account, value: JSON.stringify(i) })));
  });

  after(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.child.exitCode === null ? new Promise((r) => p.child.once('exit', r)) : undefined)));
    await log?.close();
    if (jaeger) execFileSync(join(ROOT, 'infra/dev/jaeger.sh'), ['stop'], { stdio: 'inherit' });
  });

  it('serves every order through the API, and each stage answers on its admin port', async () => {
    const status = await until(
      'every intent filled or ended',
      async () => {
        const s = Status.parse((await getJson(`${serve.url}/status`)).body);
        return s.counts.orders >= intents.length && s.counts.fills > 0 ? s : undefined;
      },
      90_000,
    );
    assert.equal(status.bus, 'kafka');
    assert.deepEqual(status.stages, [], 'serve on Kafka runs no stage of its own');
    for (const [p, stage] of [
      [decide, 'decide'],
      [gateway, 'gateway'],
    ] as const) {
      assert.equal((await getJson(`${p.url}/healthz`)).status, 200);
      const ready = await getJson<{ ready: boolean }>(`${p.url}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      const m = new RegExp(`^fillstream_stage_records_total\\{stage="${stage}"\\} (\\d+)$`, 'm').exec(metrics);
      assert.ok(m && Number(m[1]) > 0, `${stage} counts its records`);
      assert.match(metrics, new RegExp(`^fillstream_build_info\\{version="[^"]+",role="${stage}"\\} 1$`, 'm'));
      const st = (await getJson<{ role: string; stages: { name: string }[] }>(`${p.url}/status`)).body;
      assert.equal(st.role, stage);
      assert.deepEqual(
        st.stages.map((s) => s.name),
        [stage],
      );
    }
    assert.match(await (await fetch(`${gateway.url}/metrics`)).text(), /^fillstream_submit_to_ack_seconds_count\{venue="sim:\w+"\} [1-9]/m);
  });

  it("carries an operator's halt from serve to the decide stage", async () => {
    const r = await post(`${serve.url}/control/halt`, { scope: 'account:acct-1', reason: 'ops test' }, ALICE.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await until(
      'the halt in force',
      async () => Status.parse((await getJson(`${serve.url}/status`)).body).trading_states['account:acct-1']?.mode === 'HALTED' || undefined,
      60_000,
    );
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    assert.match(metrics, /^fillstream_trading_state\{scope="account:acct-1"\} 2$/m);
  });

  it("holds one trace per intent in Jaeger, with every stage's span under the intent's own span", async () => {
    const filled = intents.slice(0, 10);
    for (const i of filled) {
      const traceId = traceIdForIntent(i.intent_id);
      const root = intentSpanId(i.intent_id);
      const spans = await until(
        `the trace of ${i.intent_id}`,
        async () => {
          const r = await fetch(`${jaeger!.query}/api/traces/${traceId}`);
          if (r.status !== 200) return undefined;
          const body = (await r.json()) as { data?: { spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[] };
          const t = body.data?.[0];
          const names = new Set(t?.spans.map((s) => s.operationName));
          return t && ['normalize', 'risk', 'route', 'submit'].every((n) => names.has(n)) && names.has(`intent ${i.intent_id}`) ? t : undefined;
        },
        60_000,
      );
      const rootSpan = spans.spans.find((s) => s.spanID === root);
      assert.ok(rootSpan, 'the intent span has the id derived from intent_id');
      for (const s of spans.spans) {
        if (s === rootSpan) continue;
        assert.ok(
          s.references.some((ref) => ref.refType === 'CHILD_OF' && ref.spanID === root),
          `${s.operationName} is a child of the intent span`,
        );
      }
      const services = new Set(spans.spans.map((s) => spans.processes[s.processID].serviceName));
      assert.ok(services.has('fillstream-decide') && services.has('fillstream-gateway'), [...services].join(','));
    }
  });

  it('logs JSON lines with intent_id, trace_id and stage, and no secret in any log or response', async () => {
    const lines = gateway.stderr.split('\n').filter((l) => l.includes('"event_type":"OrderSubmitted"'));
    assert.ok(lines.length > 0);
    const j = JSON.parse(lines[0]) as Record<string, string>;
    assert.equal(j.stage, 'gateway');
    assert.ok(j.intent_id && /^[0-9a-f]{32}$/.test(j.trace_id));
    const bodies = await Promise.all(
      [serve, decide, gateway].flatMap((p) => ['/config', '/status', '/metrics', '/healthz'].map(async (path) => (await fetch(`${p.url}${path}`)).text())),
    );
    for (const text of [...bodies, ...procs.map((p) => p.stderr)]) assert.ok(!text.includes(ALICE.token), 'the operator token leaked');
  });
});
