// The log seam: the embedded file log and Kafka implement this same interface, so every stage
// runs unchanged on either.
import type { LogPosition } from '../domain/events.js';
import type { Classify } from '../domain/faults.js';

export type { LogPosition };

export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** Wall-clock ms when the record was appended. */
  timestamp: number;
  /** The value already decoded, when this process appended it (shared, read-only). */
  decoded?: unknown;
}

export interface OutRecord {
  topic: string;
  key: string | null;
  /** An explicit partition; by default the key decides (Kafka's murmur2 partitioner). */
  partition?: number;
  value: Buffer | string;
  headers?: Record<string, string>;
  /** The object `value` encodes; lets in-process readers skip JSON.parse. Never mutated. */
  decoded?: unknown;
}

export interface ConsumeOptions {
  /** Consumer group: one per stage. Its committed offsets are the next offsets to read. */
  group: string;
  topics: string[];
  /** Most records handed to one call of handle (default 256 on the embedded log). */
  maxBatch?: number;
  /**
   * Handle one batch and return the records to append. The returned records and the
   * advance of the group's offsets past the batch are committed atomically: after a crash
   * either both are in the log or neither is, so each input is processed exactly once.
   */
  handle(batch: LogRecord[]): Promise<OutRecord[]> | OutRecord[];
  /**
   * Called before the first batch after the group gives this consumer a new set of input
   * partitions (Kafka; the embedded log has no rebalances). A stage rebuilds its state here, so it
   * includes everything the partitions' previous owner committed.
   */
  onAssign?(partitions: { topic: string; partition: number }[]): Promise<void>;
  /**
   * For sinks that store their position with their data (Redis, ClickHouse, journal files): the
   * consumer starts each partition at the offset this returns (0 when absent), asks again after
   * each new assignment, and never commits offsets to the log; `handle` must return no records.
   * Exactly once then rests on the sink writing its data and its positions atomically.
   */
  positions?(partitions: { topic: string; partition: number }[]): Promise<LogPosition[]>;
  /** Told of each batch once its output and offsets are committed (metrics): inputs, outputs, and seconds from handing it out to the commit. */
  onCommitted?(inputs: number, outputs: number, seconds: number): void;
}

export interface Consumer {
  readonly group: string;
  /** Records appended to the input topics but not yet handled and committed. */
  lag(): number;
  /** True while a batch is being handled or committed. */
  busy(): boolean;
  /** Stop after the batch in hand is committed. */
  stop(): Promise<void>;
  /** Settles when the consumer stops; rejects if handle or a commit failed. */
  readonly done: Promise<void>;
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  partitions(topic: string): number;
  /** The partition a record keyed `key` goes to (Kafka's murmur2). Absent on logs of one partition per topic. */
  partitionOf?(topic: string, key: string): number;
  /** Append records with no input offsets (producers). Resolves once durable, with their positions. */
  append(records: OutRecord[]): Promise<LogPosition[]>;
  /**
   * Append records and set a group's committed offsets in one atomic step. `offsets` are the
   * next offsets to read; their `topic` may also name an external source (e.g. an intake file).
   */
  commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]>;
  /** Next offset the group will read; 0 when it never committed. */
  committed(group: string, topic: string, partition: number): Promise<number>;
  /**
   * Offset the next appended record of the partition will get. On Kafka this is the high
   * watermark, which also counts transaction markers: not a count of records.
   */
  endOffset(topic: string, partition: number): Promise<number>;
  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]>;
  /**
   * Visit every record of the given topics from offset 0 up to the end at call time. The embedded
   * log visits in global append order; other logs keep order within each partition only.
   */
  scan(topics: string[], visit: (r: LogRecord) => void): Promise<number>;
  consume(opts: ConsumeOptions): Consumer;
  /**
   * Make this process the only writer for a group's input partitions before it rebuilds state
   * from the log: older writers are fenced and their open transactions settled (Kafka). Absent
   * on logs with a single writing process.
   */
  fence?(group: string, partitions: { topic: string; partition: number }[]): Promise<void>;
  /** Reads one of this log's errors as permanent (a missing topic, a refused authorization), or undefined when retrying may fix it. */
  classify?: Classify;
  close(): Promise<void>;
}
