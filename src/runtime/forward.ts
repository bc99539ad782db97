// Moving a raw intent to its account's partition of exec.intents, which the normalizer and the
// fused decide stage do before deciding anything about it (normalizer/decide.ts, placementOf). The
// copy commits with the original's input offset, so it is made exactly once.
import { positionId } from '../domain/envelope.js';
import { TOPICS } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { HEADER_FORWARDED_FROM } from './codec.js';

/** Where the records of exec.intents belong on this log; undefined where it has one partition, and nothing moves. */
export function intentPlacement(log: EventLog): { partitions: number; partitionOf(account: string): number } | undefined {
  const partitions = log.partitions(TOPICS.intents);
  if (partitions <= 1 || log.partitionOf === undefined) return undefined;
  return { partitions, partitionOf: (account) => log.partitionOf!(TOPICS.intents, account) };
}

/** The copy on the account's partition: the same value and headers (traceparent too), keyed by account, naming the record it copies. */
export function forwardedIntent(r: LogRecord, to: { partition: number; key: string }): OutRecord {
  return { topic: TOPICS.intents, key: to.key, partition: to.partition, value: r.value, headers: { ...r.headers, [HEADER_FORWARDED_FROM]: positionId(r) } };
}
