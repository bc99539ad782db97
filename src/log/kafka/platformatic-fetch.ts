// Group-less reads on @platformatic/kafka: one fetch round from each partition's leader at given
// offsets, read_committed, parsed into the seam's records. Both the stage consumers and the log's
// read() and scan() use it, so offsets are always ours to choose (no client-side position state).
import { FetchIsolationLevels, type Consumer as PConsumer, type RecordsBatch } from '@platformatic/kafka';
import type { LogRecord } from '../types.js';
import { rawToLogRecord } from './records.js';

type FetchRequestTopic = Parameters<PConsumer['fetch']>[0]['topics'][number];

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;
/** The most a fetch returns per partition: small enough to keep a round short, big enough for a batch. */
const PARTITION_MAX_BYTES = 1024 * 1024;

export interface FetchWant {
  topic: string;
  partition: number;
  offset: number;
}

export interface Fetched {
  topic: string;
  partition: number;
  /** Data records at or past the wanted offset, aborted transactions and markers left out. */
  records: LogRecord[];
  /** Where the next fetch of the partition starts (past markers and aborted records too). */
  next: number;
  /** The last stable offset the broker reported. */
  lastStable: number;
}

/**
 * One fetch per leader, in parallel; partitions the broker leaves out of a response (nothing new
 * within maxWaitMs) come back with no records and `next` unchanged.
 */
export async function fetchRound(consumer: PConsumer, physical: (topic: string) => string, wants: readonly FetchWant[], maxWaitMs: number): Promise<Fetched[]> {
  const names = [...new Set(wants.map((w) => physical(w.topic)))];
  consumer.topics.trackAll(...names);
  const md = await consumer.metadata({ topics: names });
  const byNode = new Map<number, Map<string, FetchRequestTopic>>();
  const byId = new Map<string, string>();
  const wanted = new Map<string, FetchWant>();
  for (const w of wants) {
    const tm = md.topics.get(physical(w.topic));
    if (!tm) throw new Error(`Kafka topic ${physical(w.topic)} has no metadata`);
    const leader = tm.partitions[w.partition]?.leader ?? -1;
    if (leader < 0) throw new Error(`Kafka topic ${physical(w.topic)} partition ${w.partition} has no leader`);
    byId.set(tm.id, w.topic);
    wanted.set(`${w.topic}\u0000${w.partition}`, w);
    let topics = byNode.get(leader);
    if (!topics) byNode.set(leader, (topics = new Map<string, FetchRequestTopic>()));
    let t = topics.get(tm.id);
    if (!t) topics.set(tm.id, (t = { topicId: tm.id, partitions: [] }));
    t.partitions.push({ partition: w.partition, fetchOffset: BigInt(w.offset), partitionMaxBytes: PARTITION_MAX_BYTES, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
  }
  const responses = await Promise.all(
    [...byNode].map(([node, topics]) =>
      consumer.fetch({
        node,
        topics: [...topics.values()],
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: 16 * PARTITION_MAX_BYTES,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      }),
    ),
  );
  const out = new Map<string, Fetched>();
  for (const w of wants) out.set(`${w.topic}\u0000${w.partition}`, { topic: w.topic, partition: w.partition, records: [], next: w.offset, lastStable: -1 });
  for (const res of responses) {
    for (const tr of res.responses) {
      const topic = byId.get(tr.topicId);
      if (topic === undefined) continue;
      for (const pr of tr.partitions) {
        const key = `${topic}\u0000${pr.partitionIndex}`;
        const w = wanted.get(key);
        // An incremental fetch session can also return partitions this round did not ask for.
        if (!w) continue;
        const f = out.get(key)!;
        f.lastStable = Number(pr.lastStableOffset);
        if (pr.records) collect(f, w.offset, pr.records, pr.abortedTransactions ?? []);
      }
    }
  }
  return [...out.values()];
}

/**
 * The data records of the batches, as a Java consumer reads under read_committed: a batch of a
 * producer with an aborted transaction starting at or before it is skipped until that producer's
 * abort marker. (The library filters aborted ranges itself only when their marker is in the same
 * response, and keeps one range per producer, so this does the whole job again.)
 */
export function collect(f: Fetched, from: number, batches: RecordsBatch[], abortedTxns: { producerId: bigint; firstOffset: bigint }[]): void {
  const pending = [...abortedTxns].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborted = new Set<bigint>();
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    while (pending.length > 0 && pending[0].firstOffset <= last) aborted.add(pending.shift()!.producerId);
    if (Number(last) + 1 > f.next) f.next = Number(last) + 1;
    if (batch.attributes & IS_CONTROL) {
      const type = batch.records[0]?.key?.readInt16BE(2);
      if (type === 0) aborted.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & IS_TRANSACTIONAL && aborted.has(batch.producerId)) continue;
    for (const r of batch.records) {
      const offset = Number(batch.firstOffset) + r.offsetDelta;
      if (offset < from) continue;
      f.records.push(rawToLogRecord(f.topic, f.partition, offset, Number(batch.firstTimestamp + r.timestampDelta), r));
    }
  }
}
