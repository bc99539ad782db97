// Operator commands on Kafka: `fillstream control` writes to the topics while `run --bus kafka`
// runs; the fused decide stage (risk's part) acts on them in order with the intents around them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TOPICS, TOPICS, type Event, type EventOf } from '../../src/domain/events.js';
import { KAFKA_TOPICS, kafkaClientOf, openKafkaLog } from '../../src/log/kafka/index.js';
import type { EventLog } from '../../src/log/types.js';
import { fromRecord } from '../../src/runtime/codec.js';
import { CLI, cli, requireBuild, tempDir } from '../helpers/cli.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { until } from '../helpers/live.js';

requireBuild();
const logs: EventLog[] = [];
after(async () => {
  for (const l of logs) await l.close();
});

const intent = (id: string, account: string, ts: string) =>
  JSON.stringify({ intent_id: id, ts, account, instrument_id: 'BINANCE:BTCUSDT', side: 'BUY', size: { type: 'quantity', value: '0.01' }, labels: { strategy: 's1' }, env: 'sim' }) +
  '\n';

test('halt, resume and a flatten from the CLI reach a running pipeline on Kafka, in order with the intents', async () => {
  const prefix = `rc${randomUUID().slice(0, 8)}.`;
  // The CLI runs inherit it.
  process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
  const env = { ...process.env };
  const created = cli(['topics', 'create', '--partitions', '2']);
  assert.equal(created.status, 0, created.stderr);
  const dir = tempDir('kafka-control');
  const intents = join(dir, 'intents.ndjson');
  writeFileSync(intents, '');
  const child = spawn(process.execPath, [CLI, 'run', '--bus', 'kafka', '--data-dir', join(dir, 'data'), '--intents', intents], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const log = await openKafkaLog({ brokers: kafkaBrokers(), clientId: 'fillstream-test-reader', topicPrefix: prefix, client: kafkaClientOf({}) }, KAFKA_TOPICS);
  logs.push(log);
  const events = async () => {
    const out: Event[] = [];
    await log.scan(
      ALL_TOPICS.filter((t) => t !== TOPICS.intents),
      (r) => out.push(fromRecord(r)),
    );
    return out;
  };
  const verdict = (ev: Event[], id: string) =>
    ev.find((e): e is EventOf<'RiskApproved' | 'RiskRejected'> => (e.type === 'RiskApproved' || e.type === 'RiskRejected') && e.intent_id === id);
  const control = (...args: string[]) => {
    const r = cli(['control', ...args, '--bus', 'kafka', '--operator', 'kim']);
    assert.equal(r.status, 0, r.stderr);
  };
  try {
    appendFileSync(intents, intent('before', 'a1', '2026-01-02T10:00:00Z'));
    await until('the first intent filled', async () => (await events()).some((e) => e.type === 'OrderFilled' && e.intent_id === 'before'), 60_000);

    control('halt', '--scope', 'account:a1', '--reason', 'suspicious fills');
    await until('the halt acted on', async () => (await events()).some((e) => e.type === 'TradingStateChanged' && e.data.to === 'HALTED'), 60_000);
    appendFileSync(intents, intent('halted', 'a1', '2026-01-02T10:00:01Z') + intent('other', 'a2', '2026-01-02T10:00:01Z'));
    let ev = await until('both decided', async () => {
      const e = await events();
      return verdict(e, 'halted') && verdict(e, 'other') ? e : undefined;
    });
    assert.equal(verdict(ev, 'halted')?.type, 'RiskRejected');
    assert.equal((verdict(ev, 'halted') as EventOf<'RiskRejected'>).data.code, 'HALTED');
    assert.equal(verdict(ev, 'other')?.type, 'RiskApproved', 'another account trades on');

    control('resume', '--scope', 'account:a1', '--reason', 'reviewed');
    control('flatten', '--scope', 'account:a1', '--reason', 'close out a1');
    ev = await until('the flatten ended', async () => {
      const e = await events();
      return e.some((x) => x.type === 'FlattenCompleted') ? e : undefined;
    });
    const moves = ev.filter((e): e is EventOf<'TradingStateChanged'> => e.type === 'TradingStateChanged').map((e) => [e.data.scope, e.data.to, e.data.by]);
    assert.deepEqual(
      moves,
      [
        ['account:a1', 'HALTED', 'operator:kim'],
        ['account:a1', 'ACTIVE', 'operator:kim'],
      ],
      'each command acted on once, though written to every partition',
    );
    const done = ev.find((e): e is EventOf<'FlattenCompleted'> => e.type === 'FlattenCompleted')!;
    assert.deepEqual(
      done.data.closed.map((c) => [c.instrument_id, c.qty]),
      [['BINANCE:BTCUSDT', '0.01']],
      'the position of the first intent closed',
    );
    assert.deepEqual(done.data.failed, []);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  }
});
