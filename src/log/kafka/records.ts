// Kafka messages (kafkajs, @platformatic/kafka) as the log seam's records.
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { LogRecord } from '../types.js';

export function headersToStrings(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    out[k] = typeof one === 'string' ? one : one.toString();
  }
  return out;
}

export function toLogRecord(topic: string, partition: number, m: KafkaMessage): LogRecord {
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key === null ? null : m.key.toString(),
    value: m.value ?? Buffer.alloc(0),
    headers: headersToStrings(m.headers),
    timestamp: Number(m.timestamp),
  };
}

/**
 * kafkajs 2.2.4 arms a timer with a negative delay when nothing throttles it (its request queue),
 * which Node 23 and later report as a TimeoutNegativeWarning in every process; the timer fires
 * after 1 ms either way. For a process's entry point (the CLI, the benchmarks): drops that one
 * warning and prints every other as Node does.
 */
export function dropKafkajsTimerWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'TimeoutNegativeWarning') process.stderr.write(`(node:${process.pid}) ${w.name}: ${w.message}\n`);
  });
}

/** A record as @platformatic/kafka's fetch parses it (the batch gives its offset and timestamp). */
export interface RawKafkaRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: [Buffer | null, Buffer | null][];
}

const EMPTY = Buffer.alloc(0);

export function rawToLogRecord(topic: string, partition: number, offset: number, timestamp: number, r: RawKafkaRecord): LogRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers) if (k !== null) headers[k.toString()] = v === null ? '' : v.toString();
  return { topic, partition, offset, key: r.key === null ? null : r.key.toString(), value: r.value ?? EMPTY, headers, timestamp };
}
