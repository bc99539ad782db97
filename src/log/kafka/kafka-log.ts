// The event log on Kafka (kafkajs): the same seam as the embedded log, so every stage runs on it
// unchanged. Stage outputs and input offsets commit in one Kafka transaction; readers are
// read_committed, so an aborted or unfinished transaction is never seen.
import { randomUUID } from 'node:crypto';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import kafkajs, {
  CompressionTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  Partitioners,
  type Admin,
  type Consumer as KConsumer,
  type Message,
  type PartitionMetadata,
  type Producer,
  type RecordMetadata,
  type TopicMessages,
} from 'kafkajs';
import { CONTROL_TOPIC } from '../../domain/events.js';
import type { Classify } from '../../domain/faults.js';
import type { ConsumeOptions, Consumer, LogPosition, LogRecord, OutRecord } from '../types.js';
import { KafkaStageConsumer } from './consumer.js';
import { toLogRecord } from './records.js';
import { RegistryWire, registeredTopics, stripAll } from './registry.js';
import {
  kafkaClientOf,
  compressRequest,
  kafkaCompressionOf,
  kafkaFault,
  missingTopics,
  MAX_TXN_ATTEMPTS,
  positionKey,
  READ_STALL_MS,
  requestChunks,
  txIdFor,
  withPositionRecords,
  isExternal,
  type KafkaCompression,
  type KafkaEventLog,
  DEFAULT_FETCH_WAIT_MS,
  type KafkaLogOptions,
} from './common.js';

export { DEFAULT_FETCH_WAIT_MS };

export type { KafkaLogOptions, KafkaEventLog };

// Not a named export to ESM (the module lexer misses it).
const { CompressionCodecs } = kafkajs;

// kafkajs carries no zstd codec of its own: node:zlib's, so batches from either client read in both.
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder: { buffer: Buffer }) => Promise.resolve(zstdCompressSync(encoder.buffer)),
  decompress: (buffer: Buffer) => Promise.resolve(zstdDecompressSync(buffer)),
});

const isRetriable = (e: unknown) => typeof e === 'object' && e !== null && (e as { retriable?: unknown }).retriable === true;

function offsetTopics(offsets: LogPosition[], physical: (t: string) => string): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets) {
    const t = physical(o.topic);
    if (!byTopic.has(t)) byTopic.set(t, []);
    byTopic.get(t)!.push({ partition: o.partition, offset: String(o.offset) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

export class KafkaLog implements KafkaEventLog {
  readonly kind = 'kafka' as const;
  readonly client = 'kafkajs' as const;
  readonly kafka: Kafka;
  readonly prefix: string;
  private readonly txPrefix: string;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly txProducers = new Map<string, Promise<Producer>>();
  private readonly metadata = new Map<string, PartitionMetadata[]>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly consumers = new Set<KafkaStageConsumer>();
  private roundRobin = 0;
  /**
   * One past the last offset this process wrote, per topic and partition. Readers stop at the last
   * stable offset, which moves only once a commit's markers are written, just after commit()
   * returns; reading up to these makes a process see its own writes.
   */
  private readonly written = new Map<string, number>();
  /** performance.now() of the latest commit or append by this process (idle detection). */
  lastWriteAt = 0;
  /** Set when a schema registry is configured. */
  registry: RegistryWire | undefined;
  /** Named in messages: the brokers. */
  private readonly server: string;
  readonly classify: Classify;
  private readonly compression: KafkaCompression;

  private constructor(private readonly opts: KafkaLogOptions) {
    this.server = `Kafka ${opts.brokers.join(',')}`;
    this.classify = kafkaFault(this.server);
    this.prefix = opts.topicPrefix ?? '';
    this.compression = kafkaCompressionOf(opts);
    this.txPrefix = opts.transactionalIdPrefix ?? `${this.prefix}fillstream.`;
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'fillstream',
      brokers: opts.brokers,
      // kafkajs logs retried conditions as errors too; fillstream reports what fails for good.
      logLevel: LEVELS[opts.logLevel ?? (process.env.FILLSTREAM_KAFKA_LOG as keyof typeof LEVELS | undefined) ?? 'nothing'],
      logCreator: stderrLogger,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  }

  static async open(opts: KafkaLogOptions, topics: readonly string[]): Promise<KafkaLog> {
    const log = new KafkaLog(opts);
    await log.admin.connect();
    try {
      await log.loadMetadata(topics);
      if (opts.schemaRegistryUrl)
        log.registry = await RegistryWire.open(
          opts.schemaRegistryUrl,
          registeredTopics((t) => log.physical(t)),
        );
      await log.producer.connect();
    } catch (e) {
      await log.admin.disconnect().catch(() => undefined);
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
    const existing = new Set(await this.admin.listTopics());
    const missing = names.filter((n) => !existing.has(n));
    if (missing.length) throw missingTopics(this.server, missing);
    const md = await this.admin.fetchTopicMetadata({ topics: names });
    for (const t of md.topics)
      this.metadata.set(
        this.logical(t.name),
        [...t.partitions].sort((a, b) => a.partitionId - b.partitionId),
      );
  }

  partitions(topic: string): number {
    const p = this.metadata.get(topic);
    if (!p) throw new Error(`topic ${topic} is not open on this Kafka log`);
    return p.length;
  }

  /** The partition a record goes to: Kafka's default (murmur2 of the key), round-robin without a key. */
  partitionOf(topic: string, key: string | null): number {
    const parts = this.metadata.get(topic);
    if (!parts) throw new Error(`topic ${topic} is not open on this Kafka log`);
    if (key === null) return parts[this.roundRobin++ % parts.length].partitionId;
    return this.partitioner({ topic: this.physical(topic), partitionMetadata: parts, message: { key, value: null } });
  }

  /** Records grouped into Kafka messages with explicit partitions, and where each record will land. */
  private toMessages(records: readonly OutRecord[]): { topicMessages: TopicMessages[]; slots: [string, number, number][] } {
    const byTopic = new Map<string, Message[]>();
    const counts = new Map<string, number>();
    const slots: [string, number, number][] = [];
    for (const r of records) {
      const partition = r.partition ?? this.partitionOf(r.topic, r.key);
      const tp = `${r.topic}\u0000${partition}`;
      const i = counts.get(tp) ?? 0;
      counts.set(tp, i + 1);
      slots.push([r.topic, partition, i]);
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push({ key: r.key, value: this.registry ? this.registry.encode(r.topic, r.value) : r.value, partition, headers: r.headers });
    }
    return { topicMessages: [...byTopic].map(([t, messages]) => ({ topic: this.physical(t), messages })), slots };
  }

  private positions(slots: [string, number, number][], meta: RecordMetadata[]): LogPosition[] {
    const base = new Map<string, number>();
    for (const m of meta) base.set(`${this.logical(m.topicName)}\u0000${m.partition}`, Number(m.baseOffset));
    const out = slots.map(([topic, partition, i]) => ({ topic, partition, offset: (base.get(`${topic}\u0000${partition}`) ?? NaN) + i }));
    for (const p of out) {
      const tp = `${p.topic}\u0000${p.partition}`;
      if (!(p.offset < (this.written.get(tp) ?? 0))) this.written.set(tp, p.offset + 1);
    }
    return out;
  }

  /**
   * Sends the records in requests of at most REQUEST_BYTES: a broker refuses a partition's batch
   * over its message.max.bytes (1 MB by default). Positions come back in the records' order.
   */
  private async sendAll(sender: Pick<Producer, 'sendBatch'>, records: readonly OutRecord[]): Promise<LogPosition[]> {
    const out: LogPosition[] = [];
    for (const chunk of requestChunks(records)) {
      const { topicMessages, slots } = this.toMessages(chunk.records);
      const compression = compressRequest(this.compression, chunk.bytes) ? CompressionTypes.ZSTD : CompressionTypes.None;
      const meta = await sender.sendBatch({ topicMessages, acks: -1, compression });
      for (const p of this.positions(slots, meta)) out.push(p);
    }
    return out;
  }

  async append(records: OutRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return [];
    const positions = await this.sendAll(this.producer, records);
    this.lastWriteAt = performance.now();
    return positions;
  }

  /**
   * One transaction per call: the records, and the group's offsets (sendOffsets) or, for sources
   * outside Kafka, a position record on exec.control. The transactional id follows the input
   * partition (the first offset), so a newer owner of that partition fences an older one.
   */
  private txIdFor(group: string, input: { topic: string; partition: number } | undefined): string {
    return txIdFor(this.txPrefix, group, input);
  }

  /**
   * A fresh transactional producer per partition: initializing its id fences any older producer
   * with that id (another instance that owned the partition) and aborts its open transaction, so
   * a scan afterwards sees everything that partition's outputs will ever hold before our commits.
   */
  async fence(group: string, partitions: { topic: string; partition: number }[]): Promise<void> {
    for (const p of partitions) {
      const txId = this.txIdFor(group, p);
      const old = this.txProducers.get(txId);
      if (old) await this.dropTxProducer(txId, await old.catch(() => undefined));
      await this.txProducer(txId);
    }
  }

  async commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]> {
    const txId = this.txIdFor(group, offsets[0]);
    const producer = await this.txProducer(txId);
    const { all, internal } = withPositionRecords(group, offsets, records, CONTROL_TOPIC);
    for (let attempt = 1; ; attempt++) {
      const txn = await producer.transaction();
      let positions: LogPosition[];
      try {
        positions = await this.sendAll(txn, all);
        if (internal.length) await txn.sendOffsets({ consumerGroupId: this.physicalGroup(group), topics: offsetTopics(internal, (t) => this.physical(t)) });
      } catch (e) {
        // Nothing is visible before the commit: abort, and try again when the broker says so
        // (e.g. CONCURRENT_TRANSACTIONS while the previous commit's markers are being written).
        await txn.abort().catch(() => undefined);
        if (attempt < MAX_TXN_ATTEMPTS && isRetriable(e)) {
          await new Promise((r) => setTimeout(r, 20 * attempt));
          continue;
        }
        await this.dropTxProducer(txId, producer);
        throw e;
      }
      try {
        await txn.commit();
      } catch (e) {
        // The commit may or may not have happened: never retried here. The stage stops, and its
        // restart resumes from the offsets that did commit, so nothing is lost or doubled.
        await this.dropTxProducer(txId, producer);
        throw e;
      }
      this.lastWriteAt = performance.now();
      return positions.slice(0, records.length);
    }
  }

  /** A fenced or failed transactional producer is not reused. */
  private async dropTxProducer(txId: string, producer: Producer | undefined): Promise<void> {
    this.txProducers.delete(txId);
    await producer?.disconnect().catch(() => undefined);
  }

  private txProducer(txId: string): Promise<Producer> {
    let p = this.txProducers.get(txId);
    if (!p) {
      const producer = this.kafka.producer({
        transactionalId: txId,
        // A stage that dies mid-transaction holds back read_committed readers until this expires.
        transactionTimeout: 10_000,
        // Back-to-back transactions often meet CONCURRENT_TRANSACTIONS while the previous commit's
        // markers are written; kafkajs's default first back-off (300 ms) would idle the stage.
        retry: { initialRetryTime: 5, maxRetryTime: 200, retries: 30 },
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      p = producer.connect().then(() => producer);
      p.catch(() => this.txProducers.delete(txId));
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
    const res = await this.admin.fetchOffsets({ groupId: this.physicalGroup(group), topics: [this.physical(topic)] });
    const p = res[0]?.partitions.find((x) => x.partition === partition);
    const o = p ? Number(p.offset) : -1;
    return o < 0 ? 0 : o;
  }

  /** Admin offsets, retried while the broker reports a passing state (a new topic's leader moving in). */
  private async topicOffsets(topic: string) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admin.fetchTopicOffsets(this.physical(topic));
      } catch (e) {
        if (attempt >= 50 || !isRetriable(e)) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    const offs = await this.topicOffsets(topic);
    const p = offs.find((x) => x.partition === partition);
    if (!p) throw new Error(`topic ${topic} has no partition ${partition}`);
    return Number(p.high);
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

  /** Every committed record of the topics up to their ends at call time; in order within each partition. */
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
   * Reads the topics' partitions from the given offsets (null: from the start) up to their high
   * watermarks at call time, with a throwaway consumer group (kafkajs has no group-less fetch).
   * `visit` returns false to stop early.
   */
  private async readFrom(topics: string[], from: Map<string, number> | null, visit: (r: LogRecord) => boolean): Promise<void> {
    const ends = new Map<string, number>();
    const starts = new Map<string, number>();
    for (const t of topics) {
      for (const o of await this.topicOffsets(t)) {
        const tp = `${t}\u0000${o.partition}`;
        if (from && !from.has(tp)) continue;
        const start = from ? Math.max(from.get(tp)!, Number(o.low)) : Number(o.low);
        // The last stable offset, or past this process's own latest write.
        const end = Math.max(Number(o.high), this.written.get(tp) ?? 0);
        if (start < end) {
          ends.set(tp, end);
          starts.set(tp, start);
        }
      }
    }
    if (ends.size === 0) return;
    const groupId = `${this.prefix}fillstream-reader-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false, retry: { retries: 5 } });
    const remaining = new Set(ends.keys());
    let stop = false;
    let lastProgress = Date.now();
    const progressed = (tp: string, lastOffset: number) => {
      lastProgress = Date.now();
      if (lastOffset + 1 >= ends.get(tp)!) remaining.delete(tp);
    };
    let failure: Error | undefined;
    try {
      await consumer.connect();
      // Control-only batches (transaction markers) reach no handler; this event still moves us on.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        const tp = `${this.logical(e.payload.topic)}\u0000${e.payload.partition}`;
        if (ends.has(tp)) progressed(tp, Number(e.payload.lastOffset));
      });
      // kafkajs restarts the consumer after a retriable crash (e.g. a coordinator still loading).
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) failure = e.payload.error;
      });
      await consumer.subscribe({ topics: topics.map((t) => this.physical(t)), fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const topic = this.logical(batch.topic);
          const tp = `${topic}\u0000${batch.partition}`;
          const end = ends.get(tp);
          if (end === undefined || stop || !remaining.has(tp)) return;
          const records: LogRecord[] = [];
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset >= end) break;
            if (offset >= starts.get(tp)!) records.push(toLogRecord(topic, batch.partition, m));
          }
          await this.unwrap(records);
          for (const r of records) {
            if (!visit(r)) {
              stop = true;
              return;
            }
          }
        },
      });
      // A new group starts at the earliest offset; a read from elsewhere seeks once the group runs.
      for (const [tp, start] of from ? starts : []) {
        const [t, p] = tp.split('\u0000');
        await retrying(() => consumer.seek({ topic: this.physical(t), partition: Number(p), offset: String(start) }));
      }
      while (!stop && remaining.size > 0) {
        if (failure) throw failure;
        if (Date.now() - lastProgress > READ_STALL_MS) throw new Error(`Kafka read of ${topics.join(', ')} made no progress for ${READ_STALL_MS} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  /** Records in the Confluent wire format become plain JSON (see registry.ts). */
  unwrap(records: LogRecord[]): Promise<void> | void {
    return this.registry ? this.registry.unwrap(records) : stripAll(records);
  }

  consume(opts: ConsumeOptions): Consumer {
    const c = new KafkaStageConsumer(this, opts);
    this.consumers.add(c);
    c.done.finally(() => this.consumers.delete(c)).catch(() => undefined);
    return c;
  }

  newConsumer(groupId: string): KConsumer {
    return this.kafka.consumer({
      groupId: this.physicalGroup(groupId),
      readUncommitted: false,
      // Short fetch waits keep intent-to-venue latency low (KafkaLogOptions.fetchWaitMs).
      maxWaitTimeInMs: this.opts.fetchWaitMs ?? DEFAULT_FETCH_WAIT_MS,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // A failed batch stops the stage (done rejects); it never restarts behind our back.
      retry: { retries: 3, restartOnFailure: async () => false },
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    const txs = await Promise.allSettled([...this.txProducers.values()]);
    await Promise.allSettled(txs.map((p) => (p.status === 'fulfilled' ? p.value.disconnect() : undefined)));
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}

/** Calls `f` until it stops throwing (a consumer can be mid-restart for a moment). */
async function retrying(f: () => void, attempts = 50): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return f();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const LEVELS = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
} as const;

/** kafkajs log lines as one line of JSON each on stderr: stdout stays for the command's output. */
export const stderrLogger = () => (entry: { namespace: string; level: number; label: string; log: { message: string } & Record<string, unknown> }) => {
  const { message, timestamp: _ts, logger: _lg, stack: _st, ...rest } = entry.log;
  process.stderr.write(`${JSON.stringify({ level: entry.label, source: 'kafkajs', namespace: entry.namespace, message, ...rest })}\n`);
};

/** The Kafka log on the client the options (or FILLSTREAM_KAFKA_CLIENT) name; kafkajs by default. */
export async function openKafkaLog(opts: KafkaLogOptions, topics: readonly string[]): Promise<KafkaEventLog> {
  if (kafkaClientOf(opts) === 'platformatic') {
    const { PlatformaticKafkaLog } = await import('./platformatic-log.js');
    return PlatformaticKafkaLog.open(opts, topics);
  }
  return KafkaLog.open(opts, topics);
}
