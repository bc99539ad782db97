// The Confluent wire format against a real registry (Apicurio Registry 3.x, Confluent-compatible API):
// fillstream registers its JSON Schemas, frames every event it writes, and reads framed and plain
// intents alike, ending in the same state as the embedded log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { Event, TOPICS } from '../../src/domain/events.js';
import { frame, wireSchemaId } from '../../src/domain/wire.js';
import { KAFKA_TOPICS, openKafkaLog } from '../../src/log/kafka/index.js';
import { JSON_SCHEMA_2020 } from '../../src/log/kafka/registry.js';
import { accountKey } from '../../src/assembly/run.js';
import type { Summary } from '../../src/projections/view.js';
import { ROOT, cli, cliJson, requireBuild, tempDir, writeIntents } from '../helpers/cli.js';
import { kafkaBrokers, schemaRegistryUrl } from '../helpers/kafka.js';

const brokers = kafkaBrokers();
const registryUrl = schemaRegistryUrl();
const kafka = new Kafka({ clientId: 'fillstream-test', brokers, logLevel: logLevel.NOTHING });
let work: string;

before(() => {
  requireBuild();
  work = tempDir('kafka-registry');
});
after(() => {
  delete process.env.SCHEMA_REGISTRY_URL;
});

function freshTopics(): string {
  const prefix = `sr${randomUUID().slice(0, 8)}.`;
  process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
  const r = cli(['topics', 'create', '--partitions', '2']);
  assert.equal(r.status, 0, r.stderr);
  return prefix;
}

async function registryGet<T>(path: string): Promise<T> {
  const res = await fetch(registryUrl + path);
  const body = await res.text();
  assert.equal(res.status, 200, `${path}: ${body}`);
  return JSON.parse(body) as T;
}

test('the JSON Schemas of schemas/ are registered under <topic>-value, once however often fillstream starts', async () => {
  const prefix = freshTopics();
  const open = () => openKafkaLog({ brokers, topicPrefix: prefix, schemaRegistryUrl: registryUrl }, KAFKA_TOPICS);
  const first = await open();
  const ids = Object.fromEntries(Object.values(TOPICS).map((t) => [t, first.registry!.schemaIdOf(t)]));
  await first.close();
  const second = await open();
  for (const t of Object.values(TOPICS)) assert.equal(second.registry!.schemaIdOf(t), ids[t], `${t}: the same id on the next start`);
  await second.close();

  const subjects = await registryGet<string[]>('/subjects');
  for (const t of Object.values(TOPICS)) {
    const subject = `${prefix}${t}-value`;
    assert.ok(subjects.includes(subject), `${subject} registered`);
    assert.deepEqual(await registryGet<number[]>(`/subjects/${subject}/versions`), [1], `${subject}: one version`);
    const latest = await registryGet<{ id: number; schemaType: string; schema: string }>(`/subjects/${subject}/versions/latest`);
    assert.equal(latest.schemaType, 'JSON');
    assert.equal(latest.id, ids[t]);
    const file = t === TOPICS.intents ? 'intent.schema.json' : 'event.schema.json';
    assert.deepEqual(JSON.parse(latest.schema), JSON.parse(readFileSync(join(ROOT, 'schemas', file), 'utf8')), `${subject} holds schemas/${file}`);
  }
  assert.equal(subjects.includes(`${prefix}exec.control-value`), false, 'exec.control is internal: no subject');
});

test('framed and plain intents from upstream give the embedded state; every event is written framed and decodes with any Confluent client', async () => {
  const intents = writeIntents(work, { count: 600, seed: 41, badRatio: 0.03, duplicateRatio: 0.03, idPrefix: 'sr' });
  const embedded = cliJson<Summary>(['run', '--data-dir', join(work, 'emb'), '--intents', intents, '--until-idle']);
  const prefix = freshTopics();
  process.env.SCHEMA_REGISTRY_URL = registryUrl;
  const dataDir = join(work, 'kafka');
  // Registers the subjects, so an agent can look the intent schema's id up the way any client does.
  assert.equal(cli(['run', '--bus', 'kafka', '--data-dir', dataDir, '--until-idle']).status, 0);
  // Our schemas are draft 2020-12: the agent's client validates with Ajv's 2020 dialect.
  const agent = new SchemaRegistry({ host: registryUrl }, JSON_SCHEMA_2020);
  const intentSchemaId = await agent.getLatestSchemaId(`${prefix}${TOPICS.intents}-value`);

  // Every other intent the agent frames, its client validating it against the registered schema;
  // lines the schema refuses (and lines that are not JSON) go plain, as a careless agent would.
  const lines = readFileSync(intents, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  let framed = 0;
  const messages: { key: string | null; value: Buffer | string; partition?: number }[] = [];
  for (const [i, l] of lines.entries()) {
    const key = accountKey(Buffer.from(l));
    let value: Buffer | string = l;
    if (key !== null && i % 2 === 0) {
      value = await agent.encode(intentSchemaId, JSON.parse(l)).catch(() => l);
      if (typeof value !== 'string') framed++;
    }
    messages.push(key === null ? { key, value, partition: 0 } : { key, value });
  }
  assert.ok(framed > 250, `${framed} of ${lines.length} intents framed`);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: prefix + TOPICS.intents, messages, acks: -1 });

  const onKafka = cliJson<Summary>(['run', '--bus', 'kafka', '--data-dir', dataDir, '--until-idle']);
  assert.equal(onKafka.intents, lines.length);
  assert.deepEqual(onKafka.dlq_by_code, embedded.dlq_by_code);
  assert.equal(onKafka.state_hash, embedded.state_hash, 'framed and plain intents: the state of the embedded run');

  // Every event fillstream wrote is framed with its topic's schema id and passes the registered schema.
  const eventSchemaId = await agent.getLatestSchemaId(`${prefix}${TOPICS.gateway}-value`);
  let events = 0;
  for (const topic of [TOPICS.risk, TOPICS.router, TOPICS.gateway, TOPICS.audit, TOPICS.dlq]) {
    for (const m of await readAll(prefix + topic)) {
      assert.equal(wireSchemaId(m), eventSchemaId, `${topic}: framed with the event schema's id`);
      const decoded = await agent.decode(m); // validates against the registered JSON Schema
      assert.equal(Event.safeParse(decoded).success, true);
      events++;
    }
  }
  assert.equal(events, onKafka.events - lines.length, 'every event read back');

  // A reader without the registry strips the frame and folds the same state.
  delete process.env.SCHEMA_REGISTRY_URL;
  assert.equal(cliJson<Summary>(['replay', '--bus', 'kafka', '--data-dir', dataDir]).state_hash, embedded.state_hash);

  // A frame whose schema id the registry never issued: dead-lettered with that reason, and the partition goes on.
  process.env.SCHEMA_REGISTRY_URL = registryUrl;
  const unknownId = 2_000_000_007;
  const stray = frame(
    unknownId,
    lines.find((l) => accountKey(Buffer.from(l)) !== null)!,
  );
  await producer.send({ topic: prefix + TOPICS.intents, messages: [{ key: 'acct-unknown', value: stray, partition: 1 }], acks: -1 });
  await producer.disconnect();
  const after = cliJson<Summary>(['run', '--bus', 'kafka', '--data-dir', dataDir, '--until-idle']);
  assert.equal(after.dlq, embedded.dlq + 1);
  assert.equal(after.dlq_by_code.UNKNOWN_SCHEMA_ID, 1);
  const letters = (await readAll(prefix + TOPICS.dlq)).map((m) => JSON.parse(m.subarray(5).toString()) as { data: { code: string; reason: string } });
  const letter = letters.find((l) => l.data.code === 'UNKNOWN_SCHEMA_ID');
  assert.match(letter!.data.reason, new RegExp(`schema id ${unknownId}`));
});

/** Every record value of a topic, read with a plain kafkajs consumer (read_committed). */
async function readAll(topic: string): Promise<Buffer[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((o) => Number(o.high) > Number(o.low)).map((o) => [o.partition, Number(o.high)]));
  const out: Buffer[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    // Transaction markers take offsets too: a partition is read once its batches reach the end.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (Number(e.payload.lastOffset) + 1 >= (remaining.get(e.payload.partition) ?? Infinity)) remaining.delete(e.payload.partition);
      if (remaining.size === 0) resolve();
    });
  });
  await consumer.run({ eachMessage: async ({ message }) => void out.push(message.value!) });
  await done;
  await consumer.disconnect();
  return out;
}
