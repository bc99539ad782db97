// The event log on Kafka through @platformatic/kafka: the same seam and the same exactly-once
// design as KafkaLog (kafka-log.ts, kafkajs), chosen with FILLSTREAM_KAFKA_CLIENT=platformatic.
// Stage outputs and input offsets commit in one transaction, with a transactional id per input
// partition; readers are read_committed. What differs is only how the client is driven:
// - keys go to partitions by murmur2 as Java clients, kafkajs and kcat put them (the library's
//   default partitioner differs), always as an explicit partition;
// - offsets join a transaction one after another (the library folds concurrent adds into one);
// - retries are many and short (its defaults, 3 tries 1 s apart, idle a stage on CONCURRENT_TRANSACTIONS);
// - fetches are ours (platformatic-fetch.ts): short waits, offsets we choose, read_committed
//   filtering done in full.
import { randomUUID } from 'node:crypto';
import {
  Admin,
  compatibilityPartitioner,
  Consumer as PConsumer,
  FetchIsolationLevels,
  Producer,
  type BaseOptions,
  type Message,
  type MessageToProduce,
  type ProduceResult,
  type RetryDelayGetter,
} from '@platformatic/kafka';
import { CONTROL_TOPIC } from '../../domain/events.js';
import type { Classify } from '../../domain/faults.js';
import type { ConsumeOptions, Consumer, LogPosition, LogRecord, OutRecord } from '../types.js';
import {
  DEFAULT_FETCH_WAIT_MS,
  isExternal,
  compressRequest,
  kafkaCompressionOf,
  kafkaFault,
  missingTopics,
  MAX_TXN_ATTEMPTS,
  positionKey,
  READ_STALL_MS,
  requestChunks,
  sleep,
  txIdFor,
  withPositionRecords,
  WrittenOffsets,
  type KafkaEventLog,
  type KafkaCompression,
  type KafkaLogOptions,
} from './common.js';
import { PlatformaticStageConsumer } from './platformatic-consumer.js';
import { fetchRound, type FetchWant } from './platformatic-fetch.js';
import { RegistryWire, registeredTopics, stripAll } from './registry.js';

type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;
type PMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
type Sender = { send(o: { messages: PMessage[]; compression: 'zstd' | 'none' }): Promise<ProduceResult> };

/** Exponential back-off from `first` ms up to `max` ms. */
const backoff =
  (first: number, max: number): RetryDelayGetter =>
  (_client, _op, attempt) =>
    Math.min(max, first * 2 ** Math.max(0, attempt - 1));

/** True when every error in the chain is one the broker says may be retried. */
function isRetriable(e: unknown): boolean {
  const seen: unknown[] = [];
  const walk = (x: unknown) => {
    if (typeof x !== 'object' || x === null) return;
    seen.push(x);
    const inner = (x as { errors?: unknown }).errors;
    if (Array.isArray(inner)) for (const i of inner) walk(i);
  };
  walk(e);
  const flags = seen.map((x) => (x as { canRetry?: unknown }).canRetry).filter((f) => typeof f === 'boolean');
  return flags.length > 0 && flags.every((f) => f);
}

const FIND_COORDINATOR_GROUP = 0;

export class PlatformaticKafkaLog implements KafkaEventLog {
  readonly kind = 'kafka' as const;
  readonly client = 'platformatic' as const;
  readonly prefix: string;
  private readonly txPrefix: string;
  private readonly base: BaseOptions;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly txProducers = new Map<string, Promise<Producer>>();
  private readonly partitionCounts = new Map<string, number>();
  private readonly coordinators = new Map<string, Promise<number>>();
  private readonly consumers = new Set<PlatformaticStageConsumer>();
  private roundRobin = 0;
  private readonly written = new WrittenOffsets();
  /** performance.now() of the latest commit or append by this process (idle detection). */
  lastWriteAt = 0;
  registry: RegistryWire | undefined;
  /** Named in messages: the brokers. */
  private readonly server: string;
  readonly classify: Classify;
  readonly fetchWaitMs: number;
  private readonly compression: KafkaCompression;

  private constructor(opts: KafkaLogOptions) {
    this.server = `Kafka ${opts.brokers.join(',')}`;
    this.classify = kafkaFault(this.server);
    this.prefix = opts.topicPrefix ?? '';
    this.txPrefix = opts.transactionalIdPrefix ?? `${this.prefix}fillstream.`;
    this.fetchWaitMs = opts.fetchWaitMs ?? DEFAULT_FETCH_WAIT_MS;
    this.base = { clientId: opts.clientId ?? 'fillstream', bootstrapBrokers: opts.brokers, retries: 8, retryDelay: backoff(100, 5_000) };
    this.compression = kafkaCompressionOf(opts);
    this.admin = new Admin({ ...this.base });
    this.producer = new Producer({ ...this.base, idempotent: true, partitioner: compatibilityPartitioner, autocreateTopics: false });
  }

  static async open(opts: KafkaLogOptions, topics: readonly string[]): Promise<PlatformaticKafkaLog> {
    const log = new PlatformaticKafkaLog(opts);
    try {
      await log.loadMetadata(topics);
      if (opts.schemaRegistryUrl)
        log.registry = await RegistryWire.open(
          opts.schemaRegistryUrl,
          registeredTopics((t) => log.physical(t)),
        );
    } catch (e) {
      await log.admin.close().catch(() => undefined);
      await log.producer.close().catch(() => undefined);
      throw e;
    }
    return log;
  }

  physical(topic: string): string {
    return this.prefix + topic;
  }

  /** Consumer groups carry the topic prefix too: two deployments on one cluster never share a group. */
  physicalGroup(group: string): string {
    return this.prefix + group;
  }

  logical(physical: string): string {
    return physical.startsWith(this.prefix) ? physical.slice(this.prefix.length) : physical;
  }

  private async loadMetadata(topics: readonly string[]): Promise<void> {
    const names = topics.map((t) => this.physical(t));
    const existing = new Set(await this.admin.listTopics({ includeInternals: false }));
    const missing = names.filter((n) => !existing.has(n));
    if (missing.length) throw missingTopics(this.server, missing);
    const md = await this.admin.metadata({ topics: names });
    for (const [name, t] of md.topics) this.partitionCounts.set(this.logical(name), t.partitionsCount);
  }

  partitions(topic: string): number {
    const n = this.partitionCounts.get(topic);
    if (n === undefined) throw new Error(`topic ${topic} is not open on this Kafka log`);
    return n;
  }

  partitionOf(topic: string, key: string | null): number {
    const n = this.partitions(topic);
    if (key === null) return this.roundRobin++ % n;
    return compatibilityPartitioner(undefined as unknown as PMessage, Buffer.from(key)) % n;
  }

  private toMessages(records: readonly OutRecord[]): { messages: PMessage[]; slots: [string, number, number][] } {
    const counts = new Map<string, number>();
    const slots: [string, number, number][] = [];
    const messages: PMessage[] = [];
    for (const r of records) {
      const partition = r.partition ?? this.partitionOf(r.topic, r.key);
      const tp = `${r.topic}\u0000${partition}`;
      const i = counts.get(tp) ?? 0;
      counts.set(tp, i + 1);
      slots.push([r.topic, partition, i]);
      const value = this.registry ? this.registry.encode(r.topic, r.value) : r.value;
      const headers = new Map<Buffer, Buffer>();
      if (r.headers) for (const k in r.headers) headers.set(Buffer.from(k), Buffer.from(r.headers[k]));
      messages.push({
        topic: this.physical(r.topic),
        partition,
        key: r.key === null ? undefined : Buffer.from(r.key),
        value: typeof value === 'string' ? Buffer.from(value) : value,
        headers,
      });
    }
    return { messages, slots };
  }

  /** Sends the records in requests of at most REQUEST_BYTES; positions come back in the records' order. */
  private async sendAll(sender: Sender, records: readonly OutRecord[]): Promise<LogPosition[]> {
    const out: LogPosition[] = [];
    for (const chunk of requestChunks(records)) {
      const { messages, slots } = this.toMessages(chunk.records);
      const res = await sender.send({ messages, compression: compressRequest(this.compression, chunk.bytes) ? 'zstd' : 'none' });
      const base = new Map<string, number>();
      for (const o of res.offsets ?? []) base.set(`${this.logical(o.topic)}\u0000${o.partition}`, Number(o.offset));
      const positions = slots.map(([topic, partition, i]) => ({ topic, partition, offset: (base.get(`${topic}\u0000${partition}`) ?? NaN) + i }));
      this.written.note(positions);
      for (const p of positions) out.push(p);
    }
    return out;
  }

  async append(records: OutRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return [];
    const positions = await this.sendAll(this.producer, records);
    this.lastWriteAt = performance.now();
    return positions;
  }

  /** See KafkaLog.fence: initializing the partition's transactional id fences its older owner. */
  async fence(group: string, partitions: { topic: string; partition: number }[]): Promise<void> {
    for (const p of partitions) {
      const txId = txIdFor(this.txPrefix, group, p);
      const old = this.txProducers.get(txId);
      if (old) await this.dropTxProducer(txId, await old.catch(() => undefined));
      await this.txProducer(txId);
    }
  }

  async commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]> {
    const txId = txIdFor(this.txPrefix, group, offsets[0]);
    const producer = await this.txProducer(txId);
    const { all, internal } = withPositionRecords(group, offsets, records, CONTROL_TOPIC);
    for (let attempt = 1; ; attempt++) {
      let txn: Transaction | undefined;
      let positions: LogPosition[];
      try {
        txn = await producer.beginTransaction();
        positions = await this.sendAll(txn, all);
        if (internal.length) await this.addOffsets(txn, this.physicalGroup(group), internal);
      } catch (e) {
        // Nothing is visible before the commit: abort, and try again when the broker says so.
        const aborted = txn ? await this.endQuietly(txn) : true;
        if (attempt < MAX_TXN_ATTEMPTS && isRetriable(e) && aborted) {
          this.coordinators.delete(this.physicalGroup(group));
          await sleep(20 * attempt);
          continue;
        }
        this.coordinators.delete(this.physicalGroup(group));
        await this.dropTxProducer(txId, producer);
        throw e;
      }
      try {
        await txn.commit();
      } catch (e) {
        // The commit may or may not have happened: never retried here (see KafkaLog.commit).
        await this.dropTxProducer(txId, producer);
        throw e;
      }
      this.lastWriteAt = performance.now();
      return positions.slice(0, records.length);
    }
  }

  /** Aborts a failed transaction; an abort the broker refuses leaves the producer unusable. */
  private async endQuietly(txn: Transaction): Promise<boolean> {
    try {
      await txn.abort();
      return true;
    } catch {
      await txn.cancel().catch(() => undefined);
      return false;
    }
  }

  /**
   * The group's next offsets, in the transaction. One at a time: the library runs concurrent
   * offset adds of one producer as one request and drops the others without a word. Committed
   * with no generation or member (as kafkajs's sendOffsets does): the transactional id per input
   * partition is what fences an older owner.
   */
  private async addOffsets(txn: Transaction, group: string, offsets: LogPosition[]): Promise<void> {
    await txn.addConsumer({ groupId: group } as PConsumer);
    const coordinatorId = await this.coordinatorOf(group);
    for (const o of offsets) {
      const message = {
        topic: this.physical(o.topic),
        partition: o.partition,
        // The library commits offset + 1: the message is the last one handled.
        offset: BigInt(o.offset) - 1n,
        metadata: { consumer: { groupId: group, generationId: -1, memberId: '', coordinatorId } },
      } as unknown as Message;
      await txn.addOffset(message);
    }
  }

  private coordinatorOf(group: string): Promise<number> {
    let c = this.coordinators.get(group);
    if (!c) {
      c = this.admin.findCoordinator({ keyType: FIND_COORDINATOR_GROUP, keys: [group] }).then((r) => {
        const found = r.find((x) => x.key === group);
        if (!found || found.nodeId < 0) throw new Error(`no coordinator for group ${group}`);
        return found.nodeId;
      });
      c.catch(() => this.coordinators.delete(group));
      this.coordinators.set(group, c);
    }
    return c;
  }

  private async dropTxProducer(txId: string, producer: Producer | undefined): Promise<void> {
    this.txProducers.delete(txId);
    await producer?.close().catch(() => undefined);
  }

  /** A transactional producer, its id initialized (which fences an older one and aborts its open transaction). */
  private txProducer(txId: string): Promise<Producer> {
    let p = this.txProducers.get(txId);
    if (!p) {
      const producer = new Producer({
        ...this.base,
        transactionalId: txId,
        idempotent: true,
        // Also the transaction timeout: a stage that dies mid-transaction holds back read_committed readers until it expires.
        timeout: 10_000,
        // Back-to-back transactions often meet CONCURRENT_TRANSACTIONS while the previous commit's
        // markers are written: short, many retries.
        retries: 30,
        retryDelay: backoff(5, 200),
        partitioner: compatibilityPartitioner,
        autocreateTopics: false,
        // "No producer id yet": the library otherwise asks for producer id 0, epoch 0, which the
        // broker takes for an older producer of this transactional id and refuses (PRODUCER_FENCED)
        // whenever the id was used before, as by the previous run of the stage.
        producerId: -1n,
        producerEpoch: -1,
      });
      p = producer.beginTransaction().then(async (t) => {
        await t.cancel();
        return producer;
      });
      p.catch(() => {
        this.txProducers.delete(txId);
        void producer.close().catch(() => undefined);
      });
      this.txProducers.set(txId, p);
    }
    return p;
  }

  async committed(group: string, topic: string, partition: number): Promise<number> {
    if (isExternal(topic)) {
      const key = positionKey(group, { topic, partition, offset: 0 });
      let offset = 0;
      await this.scan([CONTROL_TOPIC], (r) => {
        if (r.key === key) offset = (JSON.parse(r.value.toString()) as LogPosition).offset;
      });
      return offset;
    }
    return (await this.startOffsets(group, [{ topic, partition }], false))[0];
  }

  /** The group's committed offsets (-1 when none: then the log start, or 0 with `fromStart` false). */
  async startOffsets(group: string, partitions: { topic: string; partition: number }[], fromStart = true): Promise<number[]> {
    if (partitions.length === 0) return [];
    const topics = new Map<string, number[]>();
    for (const p of partitions) {
      const t = this.physical(p.topic);
      if (!topics.has(t)) topics.set(t, []);
      topics.get(t)!.push(p.partition);
    }
    const res = await this.admin.listConsumerGroupOffsets({
      groups: [{ groupId: this.physicalGroup(group), topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }],
    });
    const got = new Map<string, number>();
    for (const g of res) for (const t of g.topics) for (const p of t.partitions) got.set(`${this.logical(t.name)}\u0000${p.partitionIndex}`, Number(p.committedOffset));
    const out = partitions.map((p) => got.get(`${p.topic}\u0000${p.partition}`) ?? -1);
    if (!fromStart) return out.map((o) => (o < 0 ? 0 : o));
    const missing = partitions.filter((_, i) => out[i] < 0);
    const lows = missing.length ? await this.listOffsets(missing, -2n) : [];
    let j = 0;
    return out.map((o) => (o < 0 ? lows[j++] : o));
  }

  /** Offsets at a timestamp (-1n: the last stable offset, -2n: the log start), read_committed. */
  private async listOffsets(partitions: { topic: string; partition: number }[], timestamp: bigint): Promise<number[]> {
    const topics = new Map<string, { partitionIndex: number; timestamp: bigint }[]>();
    for (const p of partitions) {
      const t = this.physical(p.topic);
      if (!topics.has(t)) topics.set(t, []);
      topics.get(t)!.push({ partitionIndex: p.partition, timestamp });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.admin.listOffsets({ topics: [...topics].map(([name, ps]) => ({ name, partitions: ps })), isolationLevel: FetchIsolationLevels.READ_COMMITTED });
        const got = new Map<string, number>();
        for (const t of res) for (const p of t.partitions) got.set(`${this.logical(t.name)}\u0000${p.partitionIndex}`, Number(p.offset));
        return partitions.map((p) => {
          const o = got.get(`${p.topic}\u0000${p.partition}`);
          if (o === undefined) throw new Error(`topic ${p.topic} has no partition ${p.partition}`);
          return o;
        });
      } catch (e) {
        // A new topic's leader may still be moving in.
        if (attempt >= 50 || !isRetriable(e)) throw e;
        await sleep(100);
      }
    }
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    if (partition < 0 || partition >= this.partitions(topic)) throw new Error(`topic ${topic} has no partition ${partition}`);
    return (await this.listOffsets([{ topic, partition }], -1n))[0];
  }

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    if (!Number.isInteger(fromOffset) || fromOffset < 0) throw new RangeError(`bad offset ${fromOffset}`);
    const out: LogRecord[] = [];
    if (maxRecords <= 0) return out;
    await this.readFrom([topic], new Map([[`${topic}\u0000${partition}`, fromOffset]]), (r) => {
      out.push(r);
      return out.length < maxRecords;
    });
    return out;
  }

  async scan(topics: string[], visit: (r: LogRecord) => void): Promise<number> {
    let n = 0;
    await this.readFrom(topics, null, (r) => {
      n++;
      visit(r);
      return true;
    });
    return n;
  }

  /**
   * Reads the topics' partitions from the given offsets (null: from the start) up to their last
   * stable offsets at call time (or past this process's own writes), with group-less fetches.
   * `visit` returns false to stop early.
   */
  private async readFrom(topics: string[], from: Map<string, number> | null, visit: (r: LogRecord) => boolean): Promise<void> {
    const parts = topics.flatMap((topic) => Array.from({ length: this.partitions(topic) }, (_, partition) => ({ topic, partition })));
    const wanted = from ? parts.filter((p) => from.has(`${p.topic}\u0000${p.partition}`)) : parts;
    if (wanted.length === 0) return;
    const [lows, highs] = [await this.listOffsets(wanted, -2n), await this.listOffsets(wanted, -1n)];
    const ends = new Map<string, number>();
    const next = new Map<string, FetchWant>();
    wanted.forEach((p, i) => {
      const tp = `${p.topic}\u0000${p.partition}`;
      const start = from ? Math.max(from.get(tp)!, lows[i]) : lows[i];
      const end = Math.max(highs[i], this.written.get(p.topic, p.partition));
      if (start < end) {
        ends.set(tp, end);
        next.set(tp, { ...p, offset: start });
      }
    });
    if (next.size === 0) return;
    const reader = this.newConsumer(`fillstream-reader-${randomUUID()}`);
    let lastProgress = Date.now();
    try {
      while (next.size > 0) {
        if (Date.now() - lastProgress > READ_STALL_MS) throw new Error(`Kafka read of ${topics.join(', ')} made no progress for ${READ_STALL_MS} ms`);
        for (const f of await fetchRound(reader, (t) => this.physical(t), [...next.values()], 100)) {
          const tp = `${f.topic}\u0000${f.partition}`;
          const w = next.get(tp)!;
          const end = ends.get(tp)!;
          if (f.next > w.offset) lastProgress = Date.now();
          const records = f.records.filter((r) => r.offset < end);
          await this.unwrap(records);
          for (const r of records) if (!visit(r)) return;
          w.offset = f.next;
          if (w.offset >= end) next.delete(tp);
        }
      }
    } finally {
      await reader.close().catch(() => undefined);
    }
  }

  /** Records in the Confluent wire format become plain JSON (see registry.ts). */
  unwrap(records: LogRecord[]): Promise<void> | void {
    return this.registry ? this.registry.unwrap(records) : stripAll(records);
  }

  consume(opts: ConsumeOptions): Consumer {
    const c = new PlatformaticStageConsumer(this, opts);
    this.consumers.add(c);
    c.done.finally(() => this.consumers.delete(c)).catch(() => undefined);
    return c;
  }

  newConsumer(groupId: string): PConsumer {
    return new PConsumer({
      ...this.base,
      groupId: this.physicalGroup(groupId),
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      // The library's defaults (a fetch waits up to 5 s) suit bulk reading, not a pipeline stage.
      maxWaitTime: this.fetchWaitMs,
      minBytes: 1,
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
    });
  }

  async close(): Promise<void> {
    const consumers = [...this.consumers];
    await Promise.allSettled(consumers.map((c) => c.stop()));
    // At most 10 s for the batches in hand; the timer must not hold the process open afterwards.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(consumers.map((c) => c.done)), new Promise<void>((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    const txs = await Promise.allSettled([...this.txProducers.values()]);
    await Promise.allSettled(txs.map((p) => (p.status === 'fulfilled' ? p.value.close() : undefined)));
    await this.producer.close().catch(() => undefined);
    await this.admin.close().catch(() => undefined);
  }
}
