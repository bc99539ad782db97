// How far each sink's store is behind the log: the Redis projection by its watermarks, the audit
// journal by the last offset it holds per partition. What `fillstream state` shows, so an operator
// sees which sink is behind (its server away, its process stopped) and by how much.
import { AUDIT_TOPICS, clickhouseClient, storedEnds } from '../audit/index.js';
import { clickhouseRunner } from '../audit/clickhouse.js';
import { readHeads } from '../audit/sql.js';
import { firstLine, serverName } from '../domain/faults.js';
import type { EventLog } from '../log/types.js';
import { redisKeys } from '../projections/redis/keys.js';
import { connectRedis, PROJECTOR_TOPICS } from '../projections/redis/projector.js';
import { readWatermarks } from '../projections/redis/reader.js';

export interface SinkStanding {
  sink: 'projector' | 'audit';
  store: string;
  /** Records on the log the store does not hold yet; absent when the store could not be read. */
  behind?: number;
  /** Why the store could not be read. */
  error?: string;
}

/** A store that does not answer within this is reported unreachable rather than waited for. */
const READ_TIMEOUT_MS = 3_000;

/** The sinks configured (Redis, ClickHouse, else the file journal if one exists) and how far behind the log each is. */
export async function sinksBehind(log: EventLog, o: { dataDir: string; redis?: { url: string; prefix: string }; clickhouseUrl?: string }): Promise<SinkStanding[]> {
  const out: SinkStanding[] = [];
  if (o.redis) {
    const { url, prefix } = o.redis;
    // Closed whether it answered or not: a client still reconnecting would keep the process alive.
    const redis = connectRedis(url);
    try {
      out.push(
        await standing('projector', serverName('Redis', url), log, PROJECTOR_TOPICS, async () => {
          const marks = await readWatermarks(redis, redisKeys(prefix));
          return (topic, partition) => marks[`${topic}/${partition}`] ?? 0;
        }),
      );
    } finally {
      redis.disconnect();
    }
  }
  if (o.clickhouseUrl) {
    const url = o.clickhouseUrl;
    const client = clickhouseClient(url);
    try {
      out.push(
        await standing('audit', serverName('ClickHouse', url), log, AUDIT_TOPICS, async () => {
          const heads = await readHeads(clickhouseRunner(client));
          return (topic, partition) => (heads.find((h) => h.log_topic === topic && h.log_partition === partition)?.last_offset ?? -1) + 1;
        }),
      );
    } finally {
      await client.close();
    }
  } else {
    const ends = storedEnds(o.dataDir);
    if (ends.length > 0)
      out.push(
        await standing('audit', 'files in the data dir', log, AUDIT_TOPICS, () => Promise.resolve((t, p) => ends.find((e) => e.topic === t && e.partition === p)?.next ?? 0)),
      );
  }
  return out;
}

type Stored = (topic: string, partition: number) => number;

async function standing(sink: SinkStanding['sink'], store: string, log: EventLog, topics: readonly string[], read: () => Promise<Stored>): Promise<SinkStanding> {
  let stored: Stored;
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${READ_TIMEOUT_MS / 1000} s`)), READ_TIMEOUT_MS)));
    stored = await Promise.race([read(), timeout]).finally(() => clearTimeout(timer));
  } catch (e) {
    return { sink, store, error: firstLine(e) };
  }
  let behind = 0;
  for (const topic of topics) {
    for (let p = 0; p < log.partitions(topic); p++) behind += Math.max(0, (await log.endOffset(topic, p)) - stored(topic, p));
  }
  return { sink, store, behind };
}
