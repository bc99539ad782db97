// A live venue on Kafka: `run --bus kafka --venues` against the Binance emulator, with accounts on
// several partitions. Pushed fills come back through exec.gateway in the order's own partition,
// are decided once, and a restart of the process (SIGKILL) finds everything where it was. Then
// chains: a live one waiting for the venue's balance before each leg, a paper one order-tested.
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
import { binanceTriangle, liveIntent, liveVenue, until } from '../helpers/live.js';

requireBuild();
const logs: EventLog[] = [];
after(async () => {
  for (const l of logs) await l.close();
});

async function readLog(prefix: string): Promise<EventLog> {
  const log = await openKafkaLog({ brokers: kafkaBrokers(), clientId: 'fillstream-test-reader', topicPrefix: prefix, client: kafkaClientOf({}) }, KAFKA_TOPICS);
  logs.push(log);
  return log;
}

async function eventsOn(log: EventLog): Promise<Event[]> {
  const out: Event[] = [];
  await log.scan(
    ALL_TOPICS.filter((t) => t !== TOPICS.intents),
    (r) => out.push(fromRecord(r)),
  );
  return out;
}

const last = <T extends Event['type']>(events: Event[], type: T, intent: string) => events.filter((e): e is EventOf<T> => e.type === type && e.intent_id === intent).at(-1);

test('Binance on Kafka: fills pushed later land in the order account partition and are decided once; a SIGKILL and restart change nothing', async () => {
  const prefix = `lv${randomUUID().slice(0, 8)}.`;
  process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
  const created = cli(['topics', 'create', '--partitions', '3']);
  assert.equal(created.status, 0, created.stderr);
  const dir = tempDir('kafka-live');
  const fx = await liveVenue('BINANCE', dir);
  const intents = join(dir, 'intents.ndjson');
  writeFileSync(intents, '');
  const start = () => {
    const child = spawn(process.execPath, [CLI, 'run', '--bus', 'kafka', '--data-dir', join(dir, 'data'), '--intents', intents, '--venues', fx.venuesFile], {
      env: { ...fx.env, FILLSTREAM_TOPIC_PREFIX: prefix },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    return { child, stderr: () => err, exited: new Promise<number | null>((res) => child.on('exit', (c) => res(c))) };
  };
  let run = start();
  const log = await readLog(prefix);
  try {
    const add = (...xs: object[]) => appendFileSync(intents, xs.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const accounts = ['a1', 'a2', 'a3', 'a4'];
    add(...accounts.map((a) => liveIntent(`g-${a}`, 'BINANCE', 'BTCUSDT', { limit: '30000', account: a })));
    const acked = await until(
      'four resting orders',
      async () => {
        const ev = await eventsOn(log);
        const a = accounts.map((x) => last(ev, 'OrderAcked', `g-${x}`));
        return a.every(Boolean) ? (a as EventOf<'OrderAcked'>[]) : undefined;
      },
      60_000,
    );
    for (const a of acked) fx.em.exchange.fillResting({ client_order_id: a.data.client_order_id }, '0.001');
    await until(
      'a fill for each',
      async () => {
        const ev = await eventsOn(log);
        return accounts.every((a) => last(ev, 'OrderFilled', `g-${a}`));
      },
      60_000,
    );
    // Killed with pushes behind it; restarted, it reconciles and finishes the orders.
    run.child.kill('SIGKILL');
    await run.exited;
    for (const a of acked) fx.em.exchange.fillResting({ client_order_id: a.data.client_order_id });
    run = start();
    // The killed process's consumers keep their partitions until their sessions lapse (30 s), then
    // every group rebalances; the restarted gateway reconciles only after that.
    await until(
      'every order filled',
      async () => {
        const ev = await eventsOn(log);
        return accounts.every((a) => last(ev, 'OrderFilled', `g-${a}`)?.data.status === 'FILLED');
      },
      90_000,
    ).catch((e: unknown) => {
      console.error(`the restarted run said:\n${run.stderr()}`);
      throw e;
    });
    const ev = await eventsOn(log);
    for (const a of accounts) {
      const fills = ev.filter((e): e is EventOf<'OrderFilled'> => e.type === 'OrderFilled' && e.intent_id === `g-${a}`);
      assert.deepEqual(
        fills.map((f) => f.data.fill.qty),
        ['0.001', '0.001'],
        `account ${a}: each fill once`,
      );
      const coid = fills[0].data.client_order_id;
      assert.equal(fx.em.exchange.placementRequests.get(coid), 1, `account ${a}: placed once`);
    }
    // Each venue report went to its order's partition: the one its OrderRouted is in.
    const partitions = new Map<string, number>();
    await log.scan([TOPICS.gateway], (rec) => {
      const e = fromRecord(rec);
      if (e.type === 'OrderRouted') partitions.set(e.data.order.client_order_id, rec.partition);
      if (e.type === 'VenueReportReceived') assert.equal(rec.partition, partitions.get(e.data.client_order_id), `report for ${e.data.client_order_id} in its order's partition`);
    });
    assert.ok(new Set(partitions.values()).size > 1, 'the accounts spread over partitions');

    // Chains on Kafka against the venue: a live one waits for the venue's balance before each
    // leg (BTC and ETH show 300 ms after the trades), then a paper one asks the order-test
    // endpoint (which checks the balance a live order would need: the account holds BTC again).
    // One after the other: two chains on one triangle are isolated from each other.
    const reportOf = (id: string) =>
      until(`the report of ${id}`, async () => last(await eventsOn(log), 'ChainCompleted', id), 60_000).catch(async (e: unknown) => {
        const ev = (await eventsOn(log)).filter((x) => x.intent_id === id);
        console.error(`${id}: ${JSON.stringify(ev.map((x) => [x.type, 'code' in x.data ? x.data.code : '']))}\nthe run said:\n${run.stderr()}`);
        throw e;
      });
    await fetch(`${fx.em.url}/__emulator/faults`, { method: 'POST', body: JSON.stringify({ balance_lag_ms: 300 }) });
    await fetch(`${fx.em.url}/__emulator/balances`, { method: 'POST', body: JSON.stringify({ BTC: '0', ETH: '0' }) });
    add(binanceTriangle('k-live', { account: 'c1' }));
    const live = await reportOf('k-live');
    await fetch(`${fx.em.url}/__emulator/balances`, { method: 'POST', body: JSON.stringify({ BTC: '10', ETH: '100' }) });
    add(binanceTriangle('k-paper', { account: 'c2', mode: 'paper' }));
    const paper = await reportOf('k-paper');
    assert.deepEqual(
      [live, paper].map((r) => [r.intent_id, r.data.status, r.data.error]),
      [
        ['k-live', 'FILLED', undefined],
        ['k-paper', 'FILLED', undefined],
      ],
    );
    const chainEvents = await eventsOn(log);
    const seen = chainEvents.filter((e): e is EventOf<'ChainBalanceSeen'> => e.type === 'ChainBalanceSeen' && e.intent_id === 'k-live');
    assert.deepEqual(
      seen.map((e) => [e.data.leg, e.data.asset, e.data.met]),
      [
        [1, 'BTC', true],
        [2, 'ETH', true],
      ],
    );
    assert.ok(
      seen.every((e) => e.data.asks >= 2),
      'each wait read the lagging balance more than once',
    );
    const tested = chainEvents.filter((e): e is EventOf<'OrderTested'> => e.type === 'OrderTested' && e.intent_id === 'k-paper');
    assert.deepEqual(
      tested.map((e) => e.data.outcome),
      ['accepted', 'accepted', 'accepted'],
    );
    for (const t of tested) assert.equal(fx.em.exchange.placements.get(t.data.client_order_id), undefined, 'a paper leg is never placed');
    // The gateway's answers land in the chain's own partition, beside the wait they answer.
    const chainPartition = new Map<string, number>();
    await log.scan([TOPICS.gateway], (rec) => {
      const e = fromRecord(rec);
      if (e.type === 'ChainStarted') chainPartition.set(e.intent_id, rec.partition);
      if (e.type === 'ChainBalanceSeen' || e.type === 'OrderTested') assert.equal(rec.partition, chainPartition.get(e.intent_id), `${e.type} in its chain's partition`);
    });
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
    await fx.close();
  }
});
