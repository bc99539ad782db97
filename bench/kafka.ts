// Benchmarks of the pipeline on Kafka (KAFKA_BROKERS; `make bench` starts a local broker): stages
// in one process and as separate processes, transactions on; intent → venue latency at a fixed
// rate; replay reading the topics. Each part gets its own topics (a fresh prefix).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ALL_TOPICS, TOPICS } from '../src/domain/events.js';
import { Consumer as PConsumer, Producer as PProducer, compatibilityPartitioner } from '@platformatic/kafka';
import { createTopics, KAFKA_TOPICS, openKafkaLog, type KafkaClientName, type KafkaLogOptions } from '../src/log/kafka/index.js';
import { fetchRound } from '../src/log/kafka/platformatic-fetch.js';
import type { LogRecord, OutRecord } from '../src/log/types.js';
import { intakeFile } from '../src/intake/intake.js';
import { accountKey, DEFAULT_STAGES, MAX_PIPELINE_BACKLOG, startPipeline, type StageName } from '../src/assembly/run.js';
import { applyRecord, emptyView, resolverFor, summarize } from '../src/projections/view.js';
import { createSyntheticMarket } from '../src/market/synthetic.js';
import { generateIntents } from '../src/tools/generate.js';
import { LatencySampler, latencyFigures } from './stats.js';

const INTENTS = Number(process.env.BENCH_KAFKA_INTENTS ?? 20_000);
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 3);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1_000);
const LATENCY_INTENTS = Number(process.env.BENCH_KAFKA_LATENCY_INTENTS ?? 5_000);
const LATENCY_WARMUP = Number(process.env.BENCH_KAFKA_LATENCY_WARMUP ?? 1_000);
const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

type Emit = (o: Record<string, unknown>) => void;

function brokers(): string[] {
  const b = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  if (b.length === 0) throw new Error('KAFKA_BROKERS is not set (make bench starts a local broker)');
  return b;
}

async function freshTopics(client: KafkaClientName): Promise<KafkaLogOptions> {
  const prefix = `bench${randomUUID().slice(0, 8)}.`;
  const admin = new Kafka({ clientId: 'fillstream-bench', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await createTopics(admin, { prefix, partitions: PARTITIONS, replicationFactor: 1, retentionMs: -1 });
  } finally {
    await admin.disconnect();
  }
  return { brokers: brokers(), topicPrefix: prefix, clientId: 'fillstream-bench', client };
}

/** The intents file through `stages` in one process, the intake producing it to exec.intents; returns intents/s. */
async function throughputOf(work: string, kafka: KafkaLogOptions, stages: readonly StageName[] | undefined): Promise<number> {
  const file = join(work, 'kafka-intents.ndjson');
  if (!existsSync(file)) writeFileSync(file, [...generateIntents({ count: INTENTS, seed: 3, stepMs: 10, idPrefix: 'k' })].join('\n') + '\n');
  const dataDir = join(work, 'kafka-throughput');
  rmSync(dataDir, { recursive: true, force: true });
  const p = await startPipeline({ dataDir, kafka, stages });
  const t0 = performance.now();
  await intakeFile(p.log, file, { maxBacklog: MAX_PIPELINE_BACKLOG, backlog: () => p.backlog(), keyOf: accountKey });
  await p.waitIdle();
  const seconds = (performance.now() - t0) / 1000;
  await p.close();
  return Math.round(INTENTS / seconds);
}

/**
 * The pipeline in one process as `run --bus kafka` runs it (the fused decide stage and the
 * gateway), then the same with the four stages apart; then a replay of the first run's topics.
 */
export async function kafkaThroughputAndReplay(work: string, emit: Emit, client: KafkaClientName): Promise<void> {
  const split = await throughputOf(work, await freshTopics(client), ['normalizer', 'risk', 'router', 'gateway']);
  const kafka = await freshTopics(client);
  const fused = await throughputOf(work, kafka, undefined);
  emit({
    bench: 'kafka_throughput',
    kafka_client: client,
    intents: INTENTS,
    partitions: PARTITIONS,
    stages: DEFAULT_STAGES.kafka.join(','),
    kafka_intents_per_sec: fused,
    kafka_fused_intents_per_sec: fused,
    kafka_split_intents_per_sec: split,
    transactions: true,
  });

  const market = createSyntheticMarket({ seed: 1 });
  const log = await openKafkaLog(kafka, KAFKA_TOPICS);
  try {
    const view = emptyView();
    const resolveInstrument = resolverFor(market);
    const r0 = performance.now();
    await log.scan(ALL_TOPICS, (r) => applyRecord(view, r, resolveInstrument));
    const rs = (performance.now() - r0) / 1000;
    emit({
      bench: 'kafka_replay',
      kafka_client: client,
      events: view.events,
      seconds: +rs.toFixed(3),
      kafka_replay_events_per_sec: Math.round(view.events / rs),
      state_hash: summarize(view, market).state_hash,
    });
  } finally {
    await log.close();
  }
}

/**
 * Each stage as its own `fillstream stage` process on the given client; intents produced up front
 * by an agent, and the orders counted, with kafkajs whichever client the stages use.
 */
export async function kafkaMultiprocess(work: string, emit: Emit, kafkaClient: KafkaClientName): Promise<void> {
  const kafka = await freshTopics(kafkaClient);
  const env = { ...process.env, KAFKA_BROKERS: kafka.brokers.join(','), FILLSTREAM_TOPIC_PREFIX: kafka.topicPrefix, FILLSTREAM_KAFKA_CLIENT: kafkaClient };
  const lines = [...generateIntents({ count: INTENTS, seed: 3, stepMs: 10, idPrefix: 'm' })];
  const procs: ChildProcess[] = [];
  const client = new Kafka({ clientId: 'fillstream-bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  // Orders reach the venue when the gateway writes OrderSubmitted: count them as they commit.
  const watcher = client.consumer({ groupId: `${kafka.topicPrefix}watch`, readUncommitted: false, maxWaitTimeInMs: 50 });
  let submitted = 0;
  let lastSubmitAt = 0;
  try {
    for (const name of ['normalizer', 'risk', 'router', 'gateway']) {
      procs.push(spawn(process.execPath, [CLI, 'stage', name, '--data-dir', join(work, `mp-${name}`)], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
    }
    await watcher.connect();
    await watcher.subscribe({ topics: [kafka.topicPrefix + TOPICS.gateway], fromBeginning: true });
    await watcher.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.headers?.type?.toString() === 'OrderSubmitted') submitted++;
        lastSubmitAt = performance.now();
      },
    });
    // What one process decided on the same input tells how many orders to wait for.
    const expected = await ordersOnEmbedded(work, lines);
    await new Promise((r) => setTimeout(r, 3_000)); // stages joined their groups
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const t0 = performance.now();
    for (let i = 0; i < lines.length; i += 1_000) {
      await producer.send({ topic: kafka.topicPrefix + TOPICS.intents, acks: -1, messages: lines.slice(i, i + 1_000).map((l) => ({ key: accountKey(Buffer.from(l)), value: l })) });
    }
    await producer.disconnect();
    const deadline = Date.now() + 600_000;
    while (submitted < expected) {
      if (Date.now() > deadline) throw new Error(`only ${submitted} of ${expected} orders reached the venue`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (lastSubmitAt - t0) / 1000;
    emit({
      bench: 'kafka_multiprocess',
      kafka_client: kafkaClient,
      intents: INTENTS,
      orders: expected,
      partitions: PARTITIONS,
      seconds: +seconds.toFixed(3),
      kafka_multiprocess_intents_per_sec: Math.round(INTENTS / seconds),
      transactions: true,
    });
  } finally {
    await watcher.disconnect().catch(() => undefined);
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
  }
}

async function ordersOnEmbedded(work: string, lines: string[]): Promise<number> {
  const dataDir = join(work, 'mp-reference');
  rmSync(dataDir, { recursive: true, force: true });
  const file = join(work, 'mp-intents.ndjson');
  writeFileSync(file, lines.join('\n') + '\n');
  const p = await startPipeline({ dataDir, fsync: 'off' });
  try {
    await intakeFile(p.log, file, { maxBacklog: MAX_PIPELINE_BACKLOG, backlog: () => p.backlog() });
    await p.waitIdle();
    let orders = 0;
    await p.log.scan([TOPICS.gateway], (r) => void (r.headers.type === 'OrderSubmitted' && orders++));
    return orders;
  } finally {
    await p.close();
  }
}

/** Intent → venue latency at 1,000/s (BENCH_LATENCY_RATE) and at 100/s, where the CPU is mostly idle. */
export async function kafkaLatency(work: string, emit: Emit, client: KafkaClientName): Promise<void> {
  const busy = await latencyAt(work, LATENCY_RATE, LATENCY_INTENTS, LATENCY_WARMUP, client);
  const light = await latencyAt(work, 100, 1_000, 200, client);
  const at100 = (f: Record<string, number>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [`${k}_at_100`, v]));
  emit({
    bench: 'kafka_latency',
    kafka_client: client,
    rate_per_sec: LATENCY_RATE,
    intents: LATENCY_INTENTS,
    orders_measured: busy.length,
    ...latencyFigures(busy, 'kafka_latency_'),
    ...at100(latencyFigures(light, 'kafka_latency_')),
    transactions: true,
  });
  // The same paced runs through two hops that do nothing: the floor under the figures above.
  const floorBusy = await twoHopLatency(LATENCY_RATE, LATENCY_INTENTS, LATENCY_WARMUP, client);
  const floorLight = await twoHopLatency(100, 1_000, 200, client);
  emit({
    bench: 'kafka_latency_floor',
    kafka_client: client,
    ...latencyFigures(floorBusy, 'kafka_latency_floor_'),
    ...at100(latencyFigures(floorLight, 'kafka_latency_floor_')),
  });
}

/**
 * The path an intent takes to the venue with no stage logic at all: appended to exec.intents,
 * copied by one consumer group to exec.gateway in a transaction with its offsets (as the decide
 * stage commits), and read there by a second group (as the gateway reads before it submits).
 * Latency from the scheduled time to the second group's handle, paced as latencyAt paces.
 */
async function twoHopLatency(rate: number, intents: number, warmup: number, client: KafkaClientName): Promise<number[]> {
  const log = await openKafkaLog(await freshTopics(client), KAFKA_TOPICS);
  const scheduled = new Map<string, number>();
  const samples: number[] = [];
  let seen = 0;
  const hop = (group: string, topic: string, handle: (b: LogRecord[]) => OutRecord[]) =>
    log.consume({ group, topics: [topic], handle, onAssign: (parts) => log.fence!(group, parts) });
  const hops = [
    hop('floor-decide', TOPICS.intents, (b) => b.map((r) => ({ topic: TOPICS.gateway, key: r.key, value: r.value }))),
    hop('floor-gateway', TOPICS.gateway, (b) => {
      for (const r of b) {
        const t = scheduled.get(r.value.toString());
        if (t !== undefined && seen++ >= warmup) samples.push(performance.now() - t);
      }
      return [];
    }),
  ];
  try {
    await new Promise((r) => setTimeout(r, 3_000)); // consumers joined
    const t0 = performance.now();
    const interval = 1000 / rate;
    const appends: Promise<unknown>[] = [];
    const total = warmup + intents;
    for (let i = 0; i < total;) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
      const batch = [];
      for (; i < due; i++) {
        scheduled.set(`f${i}`, t0 + i * interval);
        batch.push({ topic: TOPICS.intents, key: `acct-${i % 7}`, value: `f${i}` });
      }
      if (batch.length) appends.push(log.append(batch));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(appends);
    for (const until = performance.now() + 60_000; seen < total; await new Promise((r) => setTimeout(r, 5))) {
      if (performance.now() > until) throw new Error(`two-hop latency floor: ${seen} of ${total} records came through in 60 s`);
    }
  } finally {
    await Promise.all(hops.map((h) => h.stop()));
    await log.close();
  }
  return samples;
}

/** Paced producer at `rate`; latency from each intent's scheduled time to its venue submit (the linger counts). */
async function latencyAt(work: string, rate: number, intents: number, warmup: number, client: KafkaClientName): Promise<number[]> {
  const kafka = await freshTopics(client);
  const dataDir = join(work, 'kafka-latency');
  rmSync(dataDir, { recursive: true, force: true });
  const sampler = new LatencySampler(warmup);
  const { arrived, samples } = sampler;
  const p = await startPipeline({
    dataDir,
    kafka,
    onSubmit: sampler.onSubmit,
  });
  try {
    await new Promise((r) => setTimeout(r, 3_000)); // consumers joined
    const lines = [...generateIntents({ count: warmup + intents, seed: 5, idPrefix: 'kl', stepMs: 10 })].map(
      (l) => [(JSON.parse(l) as { intent_id: string }).intent_id, l] as const,
    );
    const t0 = performance.now();
    const interval = 1000 / rate;
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < lines.length;) {
      const due = Math.min(lines.length, Math.floor((performance.now() - t0) / interval) + 1);
      const batch = [];
      for (; i < due; i++) {
        arrived.set(lines[i][0], t0 + i * interval);
        batch.push({ topic: TOPICS.intents, key: accountKey(Buffer.from(lines[i][1])), value: lines[i][1] });
      }
      if (batch.length) appends.push(p.log.append(batch));
      // A producer lingering 5 ms, as Kafka's Java producer does by default: one request per tick.
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(appends);
    await p.waitIdle();
  } finally {
    await p.close();
  }
  return samples;
}

const FLOOR_RECORDS = 50_000;
const FLOOR_VALUE = 'x'.repeat(530);
const floorHeaders = (n: number) => ({
  type: 'OrderFilled',
  intent_id: `i${n}`,
  client_order_id: 'fs0123456789abcdef0123456789abcd',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
});
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * What the Kafka client alone costs here: CPU per record to produce (idempotent, batches of 500,
 * the headers fillstream's events carry) and to consume, with no pipeline at all; and the
 * intents/s one process could reach if it did nothing but that for the ~7.4 records it writes and
 * ~8.4 it reads per intent. On @platformatic/kafka, consuming is measured twice: with the library's
 * own consumer stream, and with the group-less fetches fillstream's log uses (the ceiling uses these).
 */
export async function kafkaClientFloor(emit: Emit, client: KafkaClientName): Promise<void> {
  const kafka = await freshTopics(client);
  const topic = kafka.topicPrefix + TOPICS.audit;
  const f = client === 'kafkajs' ? await kafkajsFloor(kafka, topic) : await platformaticFloor(kafka, topic);
  const perIntent = 7.4 * f.produceUs + 8.4 * f.consumeUs;
  emit({
    bench: 'kafka_client_floor',
    kafka_client: client,
    records: FLOOR_RECORDS,
    produce_cpu_us_per_record: +f.produceUs.toFixed(1),
    consume_cpu_us_per_record: +f.consumeUs.toFixed(1),
    ...(f.streamUs === undefined ? {} : { consume_stream_cpu_us_per_record: +f.streamUs.toFixed(1) }),
    client_cpu_us_per_intent: Math.round(perIntent),
    ceiling_intents_per_sec_one_process: Math.round(1e6 / perIntent),
  });
}

async function kafkajsFloor(kafka: KafkaLogOptions, topic: string): Promise<{ produceUs: number; consumeUs: number; streamUs?: number }> {
  const client = new Kafka({ clientId: 'fillstream-bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const N = FLOOR_RECORDS;
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let c0 = cpu();
  for (let i = 0; i < N; i += 500) {
    const messages = Array.from({ length: 500 }, (_, j) => ({ key: 'acct-1', value: FLOOR_VALUE, headers: floorHeaders(i + j) }));
    await producer.send({ topic, acks: -1, messages });
  }
  const produceUs = (cpu() - c0) / N;
  await producer.disconnect();
  const consumer = client.consumer({ groupId: `${kafka.topicPrefix}floor` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let n = 0;
  c0 = cpu();
  await new Promise<void>((done) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        n += batch.messages.length;
        if (n >= N) done();
      },
    });
  });
  const consumeUs = (cpu() - c0) / N;
  await consumer.disconnect();
  return { produceUs, consumeUs };
}

async function platformaticFloor(kafka: KafkaLogOptions, topic: string): Promise<{ produceUs: number; consumeUs: number; streamUs: number }> {
  const base = { clientId: 'fillstream-bench', bootstrapBrokers: kafka.brokers };
  const N = FLOOR_RECORDS;
  const producer = new PProducer({ ...base, idempotent: true, partitioner: compatibilityPartitioner });
  const key = Buffer.from('acct-1');
  const value = Buffer.from(FLOOR_VALUE);
  let c0 = cpu();
  for (let i = 0; i < N; i += 500) {
    const messages = Array.from({ length: 500 }, (_, j) => {
      const headers = new Map<Buffer, Buffer>();
      for (const [k, v] of Object.entries(floorHeaders(i + j))) headers.set(Buffer.from(k), Buffer.from(v));
      return { topic, key, value, headers };
    });
    await producer.send({ messages });
  }
  const produceUs = (cpu() - c0) / N;
  await producer.close();
  // The library's consumer stream, as an application would read.
  const consumer = new PConsumer({ ...base, groupId: `${kafka.topicPrefix}floor`, autocommit: false, maxWaitTime: 100 });
  let n = 0;
  c0 = cpu();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
  await new Promise<void>((done, fail) => {
    stream.on('data', () => {
      if (++n === N) done();
    });
    stream.on('error', fail);
  });
  const streamUs = (cpu() - c0) / N;
  await stream.close();
  await consumer.close();
  // The log's own reads: group-less fetches, records built as the pipeline gets them.
  const reader = new PConsumer({ ...base, groupId: `${kafka.topicPrefix}floor-fetch` });
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 }));
  n = 0;
  c0 = cpu();
  while (n < N) {
    for (const f of await fetchRound(reader, (t) => t, partitions, 100)) {
      n += f.records.length;
      partitions.find((p) => p.partition === f.partition)!.offset = f.next;
    }
  }
  const consumeUs = (cpu() - c0) / N;
  await reader.close();
  return { produceUs, consumeUs, streamUs };
}
