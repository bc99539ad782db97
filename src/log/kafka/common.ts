// What both Kafka clients' logs share: the options, the transactional id and position-record
// naming, the request size cut, and the retry and stall limits. The client-specific parts live in
// kafka-log.ts (kafkajs) and platformatic-log.ts (@platformatic/kafka).
import { firstLine, PermanentFault, type Classify } from '../../domain/faults.js';
import type { EventLog, LogPosition, OutRecord } from '../types.js';
import type { RegistryWire } from './registry.js';
import { WIRE_HEADER_BYTES } from './registry.js';

/** The Kafka client library under the log (FILLSTREAM_KAFKA_CLIENT). */
export type KafkaClientName = 'kafkajs' | 'platformatic';
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];
/**
 * Chosen by measurement (README, Benchmarks): on the same broker and machine, alternating runs,
 * @platformatic/kafka gave about 45% more intents/s, 30-55% faster replay and less than half the
 * client CPU per intent; latency was about even.
 */
export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'platformatic';

export interface KafkaLogOptions {
  brokers: string[];
  clientId?: string;
  /** Prepended to every topic name (FILLSTREAM_TOPIC_PREFIX). */
  topicPrefix?: string;
  /** Prepended to transactional ids, which are `<prefix><group>.<topic>.<partition>`. */
  transactionalIdPrefix?: string;
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** A Confluent-compatible schema registry (SCHEMA_REGISTRY_URL): events are written in its wire format. */
  schemaRegistryUrl?: string;
  /**
   * Longest a stage's fetch waits on the broker for new records (FILLSTREAM_KAFKA_FETCH_WAIT_MS,
   * default 5). Shorter cuts intent → venue latency; an idle process then fetches more often
   * (measured: a following `run` idles at 8% of a core with 20 ms, 14% with 5 ms, 22% with 2 ms).
   */
  fetchWaitMs?: number;
  /** The client library (FILLSTREAM_KAFKA_CLIENT); kafkajs unless set. */
  client?: KafkaClientName;
  /**
   * How producers compress record batches (FILLSTREAM_KAFKA_COMPRESSION): zstd unless set, which
   * every broker since Kafka 2.1 and both clients read; `none` spends no CPU on it.
   */
  compression?: KafkaCompression;
}

export const KAFKA_COMPRESSIONS = ['zstd', 'none'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

/** The compression a log's producers use: the option, else FILLSTREAM_KAFKA_COMPRESSION, else zstd. */
export function kafkaCompressionOf(opts: Pick<KafkaLogOptions, 'compression'>, env: string | undefined = process.env.FILLSTREAM_KAFKA_COMPRESSION): KafkaCompression {
  const name = opts.compression ?? (env || 'zstd');
  if (!KAFKA_COMPRESSIONS.includes(name as KafkaCompression)) throw new Error(`FILLSTREAM_KAFKA_COMPRESSION=${name}: one of ${KAFKA_COMPRESSIONS.join(', ')}`);
  return name as KafkaCompression;
}

/** See KafkaLogOptions.fetchWaitMs: at 1,000 intents/s, p99 intent → venue went from 71–173 ms (20 ms) to 39–45 ms (5 ms). */
export const DEFAULT_FETCH_WAIT_MS = 5;

/** The client a log opens with: the option, else FILLSTREAM_KAFKA_CLIENT, else kafkajs. */
export function kafkaClientOf(opts: Pick<KafkaLogOptions, 'client'>, env: string | undefined = process.env.FILLSTREAM_KAFKA_CLIENT): KafkaClientName {
  const name = opts.client ?? (env || DEFAULT_KAFKA_CLIENT);
  if (!KAFKA_CLIENTS.includes(name as KafkaClientName)) throw new Error(`FILLSTREAM_KAFKA_CLIENT=${name}: the Kafka client is one of ${KAFKA_CLIENTS.join(', ')}`);
  return name as KafkaClientName;
}

/** What the Kafka logs offer beyond the seam (tests, the bench). */
export interface KafkaEventLog extends EventLog {
  readonly kind: 'kafka';
  readonly client: KafkaClientName;
  readonly prefix: string;
  /** Set when a schema registry is configured. */
  registry: RegistryWire | undefined;
  physical(topic: string): string;
  logical(physical: string): string;
  /** The partition a record goes to: Kafka's default (murmur2 of the key), round-robin without a key. */
  partitionOf(topic: string, key: string | null): number;
}

/** Positions of sources outside Kafka (e.g. `source:file:…`) live as records in exec.control. */
export const isExternal = (topic: string) => topic.startsWith('source:');
export const positionKey = (group: string, p: LogPosition) => `position/${group}/${p.topic}/${p.partition}`;

/**
 * The transactional id of a group's commits: it follows the input partition (the first offset),
 * so a newer owner of that partition fences an older one.
 */
export function txIdFor(txPrefix: string, group: string, input: { topic: string; partition: number } | undefined): string {
  return input ? `${txPrefix}${group}.${input.topic}.${input.partition}` : `${txPrefix}${group}`;
}

/** Most bytes of records per produce request (the broker's default message.max.bytes is 1 MB). */
export const REQUEST_BYTES = 512 * 1024;

export function sizeOf(r: OutRecord): number {
  let n = 64 + WIRE_HEADER_BYTES + (typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length) + (r.key === null ? 0 : r.key.length);
  if (r.headers) for (const k in r.headers) n += k.length + r.headers[k].length + 8;
  return n;
}

/** The records cut into runs of at most REQUEST_BYTES (a single larger record makes a run of its own), with their size. */
export function* requestChunks<T extends OutRecord>(records: readonly T[]): Generator<{ records: T[]; bytes: number }> {
  for (let i = 0; i < records.length;) {
    let j = i;
    let bytes = 0;
    while (j < records.length && (j === i || bytes + sizeOf(records[j]) <= REQUEST_BYTES)) bytes += sizeOf(records[j++]);
    yield { records: records.slice(i, j), bytes };
    i = j;
  }
}

/**
 * Requests smaller than this go uncompressed whatever the setting: zstd's fixed cost per batch (its
 * context, on producer, broker and every consumer) showed in latency at 100 intents/s (p99 25 ms
 * against 13–20 uncompressed), and small batches gain little. A busy pipeline's requests are larger.
 */
export const COMPRESS_MIN_REQUEST_BYTES = 16 * 1024;

/** Whether a request of `bytes` is sent compressed under `setting`. */
export const compressRequest = (setting: KafkaCompression, bytes: number): boolean => setting === 'zstd' && bytes >= COMPRESS_MIN_REQUEST_BYTES;

/** The records with a position record on exec.control for each offset of a source outside Kafka. */
export function withPositionRecords(group: string, offsets: LogPosition[], records: OutRecord[], controlTopic: string): { all: OutRecord[]; internal: LogPosition[] } {
  const all: OutRecord[] = [...records];
  for (const o of offsets) if (isExternal(o.topic)) all.push({ topic: controlTopic, key: positionKey(group, o), value: JSON.stringify({ group, ...o }) });
  return { all, internal: offsets.filter((o) => !isExternal(o.topic)) };
}

/** Tries of one transaction whose sends the broker refused with a retriable error. */
export const MAX_TXN_ATTEMPTS = 20;

/** Gives up a scan or read that makes no progress for this long. */
export const READ_STALL_MS = 30_000;

/**
 * A fetch counts as "nothing left" only if it started this long after this process's last write:
 * transaction markers are written just after a commit returns, and data becomes visible to
 * read_committed readers only with them.
 */
export const MARKER_GRACE_MS = 50;

/** Records handed to one call of handle (a partition's fetch is cut into chunks of this size). */
export const DEFAULT_MAX_BATCH = 500;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Tracks one past the last offset this process wrote, per topic and partition. Readers stop at the
 * last stable offset, which moves only once a commit's markers are written, just after commit()
 * returns; reading up to these makes a process see its own writes.
 */
export class WrittenOffsets {
  private readonly ends = new Map<string, number>();
  note(positions: readonly LogPosition[]): void {
    for (const p of positions) {
      const tp = `${p.topic}\u0000${p.partition}`;
      if (!(p.offset < (this.ends.get(tp) ?? 0))) this.ends.set(tp, p.offset + 1);
    }
  }
  get(topic: string, partition: number): number {
    return this.ends.get(`${topic}\u0000${partition}`) ?? 0;
  }
}

/** Kafka error codes no retry fixes, with what does. */
const PERMANENT_KAFKA = new Map<string, string>([
  ['TOPIC_AUTHORIZATION_FAILED', "grant fillstream's principal Read and Write on its topics (ACLs)"],
  ['GROUP_AUTHORIZATION_FAILED', "grant fillstream's principal Read on its consumer groups (ACLs)"],
  ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', "grant fillstream's principal Write on its transactional ids (prefix fillstream.) (ACLs)"],
  ['CLUSTER_AUTHORIZATION_FAILED', "grant fillstream's principal IdempotentWrite on the cluster (ACLs)"],
  ['SASL_AUTHENTICATION_FAILED', 'check the credentials fillstream connects with'],
  ['UNSUPPORTED_SASL_MECHANISM', 'configure a SASL mechanism the broker offers'],
]);

/**
 * The permanent reading of a kafkajs or @platformatic/kafka error (its code is `type` on kafkajs,
 * `apiId` on platformatic, on the error or one it wraps). A missing topic is not one here: a topic
 * just created may be unknown to a broker for a moment; open() refuses topics that do not exist.
 */
export function kafkaFault(server: string): Classify {
  return (e) => {
    const seen = new Set<unknown>();
    const walk = (x: unknown, depth: number): PermanentFault | undefined => {
      if (x === null || typeof x !== 'object' || seen.has(x) || depth > 6) return undefined;
      seen.add(x);
      const o = x as { type?: unknown; apiId?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
      const id = typeof o.type === 'string' ? o.type : typeof o.apiId === 'string' ? o.apiId : undefined;
      const fix = id === undefined ? undefined : PERMANENT_KAFKA.get(id);
      if (fix) return new PermanentFault(server, `${id}: ${firstLine(x)}`, fix, { cause: e });
      for (const inner of [o.cause, o.originalError, ...(Array.isArray(o.errors) ? (o.errors as unknown[]) : [])]) {
        const hit = walk(inner, depth + 1);
        if (hit) return hit;
      }
      return undefined;
    };
    return walk(e, 0);
  };
}

/** The topics a log needs that the cluster lacks: a fault only a person fixes. */
export function missingTopics(server: string, missing: string[]): PermanentFault {
  return new PermanentFault(server, `topics missing: ${missing.join(', ')}`, 'create them: `fillstream topics create` (auto-creation is off)');
}
