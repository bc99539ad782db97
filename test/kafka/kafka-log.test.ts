// The Kafka log against a real broker (KAFKA_BROKERS; `make test` starts one): the same seam as
// the embedded log, with transactions. Each test uses its own topic prefix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Admin as PAdmin } from '@platformatic/kafka';
import { TOPICS } from '../../src/domain/events.js';
import { createTopics, KAFKA_TOPICS, openKafkaLog, type KafkaEventLog } from '../../src/log/kafka/index.js';
import type { LogRecord } from '../../src/log/types.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { waitFor } from '../helpers/log-fixtures.js';

const brokers = kafkaBrokers();
const kafka = new Kafka({ clientId: 'fillstream-test', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();

before(() => admin.connect());
after(() => admin.disconnect());

async function freshLog(partitions = 3): Promise<{ log: KafkaEventLog; prefix: string }> {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  await createTopics(admin, { prefix, partitions, replicationFactor: 1, retentionMs: -1 });
  return { log: await openKafkaLog({ brokers, topicPrefix: prefix, logLevel: 'nothing' }, KAFKA_TOPICS), prefix };
}

test('topics create provisions every topic once, with the log topics kept forever and exec.control compacted', async () => {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const settings = { prefix, partitions: 2, replicationFactor: 1, retentionMs: -1 };
  assert.deepEqual((await createTopics(admin, settings)).sort(), KAFKA_TOPICS.map((t) => prefix + t).sort());
  assert.deepEqual(await createTopics(admin, settings), [], 'a second run creates nothing');
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: 2, name: prefix + TOPICS.gateway, configNames: ['retention.ms', 'cleanup.policy'] },
      { type: 2, name: prefix + 'exec.control', configNames: ['cleanup.policy'] },
    ],
  });
  const entry = (i: number, name: string) => configs.resources[i].configEntries.find((e) => e.configName === name)?.configValue;
  assert.equal(entry(0, 'retention.ms'), '-1');
  assert.equal(entry(0, 'cleanup.policy'), 'delete');
  assert.equal(entry(1, 'cleanup.policy'), 'compact');
});

test('producers compress batches with zstd by default: the same records take several times less room on the broker, and read back alike', async () => {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const settings = { prefix, partitions: 1, replicationFactor: 1, retentionMs: -1 };
  await createTopics(admin, settings);
  const records = Array.from({ length: 3000 }, (_, i) => ({
    topic: TOPICS.audit,
    key: `acct-${i % 5}`,
    value: JSON.stringify({ event_id: `i${i}/fill`, type: 'OrderFilled', account: `acct-${i % 5}`, data: { qty: '0.25', px: `${65000 + (i % 50)}.5` } }),
  }));
  const bytesOn = async (compression: 'zstd' | 'none' | undefined, topic: string): Promise<number> => {
    const log = await openKafkaLog({ brokers, topicPrefix: prefix, logLevel: 'nothing', compression }, KAFKA_TOPICS);
    try {
      const moved = records.map((r) => ({ ...r, topic }));
      for (let i = 0; i < moved.length; i += 500) await log.append(moved.slice(i, i + 500));
      const got: LogRecord[] = [];
      await log.scan([topic], (r) => got.push(r));
      assert.deepEqual(
        got.map((r) => r.value.toString()),
        records.map((r) => r.value),
      );
    } finally {
      await log.close();
    }
    const pa = new PAdmin({ clientId: 'fillstream-test', bootstrapBrokers: brokers });
    try {
      const dirs = await pa.describeLogDirs({ topics: [{ name: prefix + topic, partitions: [0] }] });
      let size = 0;
      for (const b of dirs) for (const r of b.results) for (const t of r.topics) if (t.name === prefix + topic) for (const p of t.partitions) size += Number(p.partitionSize);
      return size;
    } finally {
      await pa.close();
    }
  };
  const zstd = await bytesOn(undefined, TOPICS.audit);
  const none = await bytesOn('none', TOPICS.gateway);
  assert.ok(none > 100_000, `${none} bytes uncompressed`);
  assert.ok(zstd * 3 < none, `zstd ${zstd} bytes against ${none} uncompressed`);
});

test('append keys records to partitions as Kafka does; read and scan return them in partition order', async () => {
  const { log } = await freshLog();
  try {
    const records = Array.from({ length: 60 }, (_, i) => ({ topic: TOPICS.audit, key: `acct-${i % 5}`, value: `v${i}`, headers: { n: String(i) } }));
    const pos = await log.append(records);
    assert.equal(pos.length, 60);
    // Each key stays in one partition, and offsets within a partition follow the append order.
    const byKey = new Map<string, Set<number>>();
    for (let i = 0; i < 60; i++) {
      assert.equal(pos[i].partition, log.partitionOf(TOPICS.audit, records[i].key));
      (byKey.get(records[i].key) ?? byKey.set(records[i].key, new Set()).get(records[i].key)!).add(pos[i].partition);
    }
    for (const parts of byKey.values()) assert.equal(parts.size, 1);
    const seen: LogRecord[] = [];
    assert.equal(await log.scan([TOPICS.audit], (r) => seen.push(r)), 60);
    for (let p = 0; p < 3; p++) {
      const mine = seen.filter((r) => r.partition === p);
      const expected = pos.map((x, i) => ({ ...x, i })).filter((x) => x.partition === p);
      assert.deepEqual(
        mine.map((r) => r.offset),
        expected.map((x) => x.offset),
      );
      assert.deepEqual(
        mine.map((r) => r.value.toString()),
        expected.map((x) => `v${x.i}`),
      );
      assert.deepEqual(
        mine.map((r) => r.headers.n),
        expected.map((x) => String(x.i)),
      );
    }
    const p0 = pos.filter((x) => x.partition === pos[0].partition);
    const two = await log.read(TOPICS.audit, pos[0].partition, p0[1].offset, 2);
    assert.deepEqual(
      two.map((r) => r.offset),
      [p0[1].offset, p0[2].offset],
    );
    assert.equal(await log.endOffset(TOPICS.audit, pos[0].partition), p0[p0.length - 1].offset + 1);
  } finally {
    await log.close();
  }
});

test('a consumer group copies each record exactly once: outputs and offsets commit in one transaction', async () => {
  const { log, prefix } = await freshLog();
  const N = 300;
  try {
    await log.append(Array.from({ length: N }, (_, i) => ({ topic: TOPICS.intents, key: `k${i % 7}`, value: `in-${i}` })));
    let handled = 0;
    const c = log.consume({
      group: 'copy',
      topics: [TOPICS.intents],
      maxBatch: 40,
      handle: (batch) => {
        handled += batch.length;
        return batch.map((r) => ({ topic: TOPICS.audit, key: r.key, value: `out-${r.value.toString()}` }));
      },
    });
    await waitFor(() => handled >= N && c.lag() === 0 && !c.busy(), 60_000, 'copy to finish');
    await c.stop();
    await c.done;
    for (let p = 0; p < 3; p++) assert.equal(await log.committed('copy', TOPICS.intents, p), await lastDataOffsetPlusOne(log, TOPICS.intents, p));

    // A second consumer of the same group finds nothing left: no record is handled twice.
    let again = 0;
    const c2 = log.consume({ group: 'copy', topics: [TOPICS.intents], handle: (b) => ((again += b.length), []) });
    await waitFor(() => c2.lag() === 0 && !c2.busy(), 60_000, 'second consumer to settle');
    await c2.stop();
    await c2.done;
    assert.equal(again, 0);
    const outs: string[] = [];
    await log.scan([TOPICS.audit], (r) => outs.push(r.value.toString()));
    assert.equal(outs.length, N);
    assert.deepEqual(new Set(outs), new Set(Array.from({ length: N }, (_, i) => `out-in-${i}`)));
    // On the broker the group carries the topic prefix: deployments sharing a cluster never share a group.
    const stored = await admin.fetchOffsets({ groupId: `${prefix}copy`, topics: [prefix + TOPICS.intents] });
    assert.equal(
      stored[0].partitions.reduce((n, p) => n + Number(p.offset), 0),
      (await Promise.all([0, 1, 2].map((p) => lastDataOffsetPlusOne(log, TOPICS.intents, p)))).reduce((a, b) => a + b, 0),
    );
  } finally {
    await log.close();
    await admin.deleteGroups([`${prefix}copy`]).catch(() => undefined);
  }
});

test('a commit larger than the broker takes in one request is sent in several, in one transaction', async () => {
  const { log } = await freshLog(1);
  try {
    // 3,000 records of ~700 bytes to one partition: ~2 MB, over the broker's default 1 MB batch limit.
    const records = Array.from({ length: 3_000 }, (_, i) => ({ topic: TOPICS.gateway, key: 'one', value: `${i}:${'x'.repeat(700)}` }));
    const pos = await log.commit('big', [{ topic: TOPICS.intents, partition: 0, offset: 1 }], records);
    assert.deepEqual(
      pos.map((p) => p.offset),
      pos.map((_, i) => pos[0].offset + i),
      'contiguous, in order',
    );
    let n = 0;
    await log.scan([TOPICS.gateway], (r) => assert.equal(r.value.toString().split(':')[0], String(n++)));
    assert.equal(n, 3_000);
    assert.equal(await log.committed('big', TOPICS.intents, 0), 1);
  } finally {
    await log.close();
  }
});

test('a source position outside Kafka commits atomically with its records, through exec.control', async () => {
  const { log } = await freshLog(1);
  try {
    assert.equal(await log.committed('intake', 'source:file:abc', 0), 0);
    await log.commit('intake', [{ topic: 'source:file:abc', partition: 0, offset: 1234 }], [{ topic: TOPICS.intents, key: null, value: 'x' }]);
    await log.commit('intake', [{ topic: 'source:file:abc', partition: 0, offset: 5678 }], [{ topic: TOPICS.intents, key: null, value: 'y' }]);
    assert.equal(await log.committed('intake', 'source:file:abc', 0), 5678);
    assert.equal(await log.committed('other', 'source:file:abc', 0), 0);
    const values: string[] = [];
    await log.scan([TOPICS.intents], (r) => values.push(r.value.toString()));
    assert.deepEqual(values, ['x', 'y']);
  } finally {
    await log.close();
  }
});

test('readers never see an aborted transaction', async () => {
  const { log, prefix } = await freshLog(1);
  const producer = kafka.producer({ transactionalId: `${prefix}aborter`, idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: prefix + TOPICS.audit, messages: [{ value: 'aborted' }] });
    await t1.abort();
    const t2 = await producer.transaction();
    await t2.send({ topic: prefix + TOPICS.audit, messages: [{ value: 'committed' }] });
    await t2.commit();
    // Two records and two transaction markers: readers see up to the last stable offset, which
    // reaches 4 once the commit's marker is written (just after commit() returns).
    for (let i = 0; i < 250; i++) {
      const [p0] = await admin.fetchTopicOffsets(prefix + TOPICS.audit);
      if (p0.high === '4') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const values: string[] = [];
    await log.scan([TOPICS.audit], (r) => values.push(r.value.toString()));
    assert.deepEqual(values, ['committed']);
  } finally {
    await producer.disconnect();
    await log.close();
  }
});

/** One past the last data record of a partition (the high watermark also counts transaction markers). */
async function lastDataOffsetPlusOne(log: KafkaEventLog, topic: string, partition: number): Promise<number> {
  let last = -1;
  await log.scan([topic], (r) => {
    if (r.partition === partition) last = r.offset;
  });
  return last + 1;
}
