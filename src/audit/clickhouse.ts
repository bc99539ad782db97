// The journal on a ClickHouse server (18.16 and later): one INSERT per cut, retried with back-off
// while the server is away; before each retry the stored offsets are read back, so an INSERT that
// did land is never stored twice.
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { ddlStatements } from './ddl.js';
import { checksumKey, JournalState, linesOf, pkey, type StagedRow } from './journal.js';
import { Readable } from 'node:stream';
import { EVENT_COLUMNS, type ChecksumRow } from './columns.js';
import type { JournalStore } from './sink.js';
import { firstLine, isNetworkError, PermanentFault, retrying, serverName, type Classify, type RetryPolicy } from '../domain/faults.js';
import { CHECKSUMS_TABLE, EVENTS_TABLE, readChecksums, readHeads, recomputeChecksums, sqlString, type SqlRunner } from './sql.js';

export function clickhouseClient(url: string): ClickHouseClient {
  return createClient({
    url,
    // 18.16 answers plain HTTP only: no compressed bodies, no settings it does not know.
    compression: { request: false, response: false },
    request_timeout: 60_000,
    log: { level: ClickHouseLogLevel.OFF },
  });
}

export function clickhouseRunner(client: ClickHouseClient): SqlRunner {
  return {
    async rows<T>(sql: string): Promise<T[]> {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      return rs.json<T>();
    },
  };
}

/** Applies infra/clickhouse/*.sql in order; returns the statements run. */
export async function migrate(url: string): Promise<string[]> {
  const client = clickhouseClient(url);
  try {
    const done: string[] = [];
    for (const s of ddlStatements()) {
      await client.command({ query: s.sql });
      done.push(`${s.file}: ${s.sql.split('\n')[0]}`);
    }
    return done;
  } finally {
    await client.close();
  }
}

const COLUMN_NAMES = EVENT_COLUMNS.map(([c]) => c) as [string, ...string[]];

export interface RetryOptions {
  /** First pause after a failure (default 100 ms), doubling up to maxDelayMs (default 5 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Told of each retry (default: a line on stderr naming the server, at most one per 5 s). */
  onRetry?: (line: string, e: unknown, delayMs: number) => void;
  /** Aborted when the process stops: a write being retried gives up (it is replayed on restart). */
  signal?: AbortSignal;
}

/** ClickHouse's error codes that no retry fixes, with what fixes them. */
const PERMANENT_CODES = new Map<number, string>([
  [81, 'create the journal: run `fillstream audit migrate`, or start `run` with --migrate'], // UNKNOWN_DATABASE
  [60, 'create the journal: run `fillstream audit migrate`, or start `run` with --migrate'], // UNKNOWN_TABLE
  [192, 'check the user in CLICKHOUSE_URL'], // UNKNOWN_USER
  [193, 'check the user and password in CLICKHOUSE_URL'], // WRONG_PASSWORD
  [194, 'check the user and password in CLICKHOUSE_URL'], // REQUIRED_PASSWORD
  [516, 'check the user and password in CLICKHOUSE_URL'], // AUTHENTICATION_FAILED
  [497, "grant CLICKHOUSE_URL's user SELECT and INSERT on the fillstream database"], // ACCESS_DENIED
  [164, "CLICKHOUSE_URL's user is read-only: use one that may INSERT"], // READONLY
]);

/** The permanent reading of a ClickHouse error (its code, in the message on every server version). */
export function clickhouseFault(server: string): Classify {
  return (e) => {
    if (isNetworkError(e)) return undefined;
    const m = /\bCode: (\d+)/.exec(e instanceof Error ? e.message : String(e));
    const fix = m ? PERMANENT_CODES.get(Number(m[1])) : undefined;
    return fix ? new PermanentFault(server, firstLine(e), fix, { cause: e }) : undefined;
  };
}

export class ClickHouseStore implements JournalStore {
  private readonly client: ClickHouseClient;
  private readonly q: SqlRunner;
  private readonly policy: RetryPolicy;
  /** Settings of the events INSERT, once the server's version is known (insertSettings). */
  private settings: Record<string, number> | undefined;

  constructor(url: string, o: RetryOptions = {}) {
    this.client = clickhouseClient(url);
    this.q = clickhouseRunner(this.client);
    const server = serverName('ClickHouse', url);
    this.policy = { server, classify: clickhouseFault(server), minDelayMs: o.minDelayMs, maxDelayMs: o.maxDelayMs, signal: o.signal, onRetry: o.onRetry };
  }

  async load(): Promise<JournalState> {
    return this.withRetry(async () => {
      const heads = await readHeads(this.q);
      let sums = await readChecksums(this.q);
      const covered = new Map<string, number>();
      for (const c of sums) {
        const k = pkey(c.log_topic, c.log_partition);
        covered.set(k, Math.max(covered.get(k) ?? -1, c.last_offset));
      }
      const behind = heads
        .filter((h) => (covered.get(pkey(h.log_topic, h.log_partition)) ?? -1) < h.last_offset)
        .map((h) => ({ topic: h.log_topic, partition: h.log_partition, offset: covered.get(pkey(h.log_topic, h.log_partition)) ?? -1 }));
      const fixed = await recomputeChecksums(this.q, behind);
      if (fixed.length > 0) {
        await this.insertChecksums(fixed);
        const byKey = new Map(sums.map((c) => [checksumKey(c), c]));
        for (const c of fixed) byKey.set(checksumKey(c), c);
        sums = [...byKey.values()];
      }
      return new JournalState(heads, sums);
    });
  }

  async store(rows: StagedRow[], state: JournalState): Promise<ChecksumRow[]> {
    let left = rows;
    await this.withRetry(
      async () => {
        if (left.length === 0) return;
        const clickhouse_settings = (this.settings ??= await this.insertSettings());
        await this.client.insert({
          table: EVENTS_TABLE,
          values: Readable.from([linesOf(left)], { objectMode: false }),
          format: 'TabSeparated',
          columns: COLUMN_NAMES,
          clickhouse_settings,
        });
      },
      async () => {
        // The INSERT may have landed: keep only what the server does not hold.
        const stored = await this.storedNext(left);
        left = left.filter((r) => r.log_offset >= (stored.get(pkey(r.log_topic, r.log_partition)) ?? 0));
      },
    );
    return state.applyStored(rows);
  }

  async storeChecksums(sums: ChecksumRow[]): Promise<void> {
    await this.withRetry(() => this.insertChecksums(sums));
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /**
   * Servers since 20.x parse text input in ~10 MiB chunks in parallel and may store a cut's first
   * chunks without the rest; one parser keeps each INSERT one part, whole or absent. 18.16 has no
   * such setting and refuses settings it does not know.
   */
  private async insertSettings(): Promise<Record<string, number>> {
    const got = await this.q.rows<{ n: string | number }>(`SELECT count() AS n FROM system.settings WHERE name = 'input_format_parallel_parsing'`);
    return Number(got[0]?.n ?? 0) > 0 ? { input_format_parallel_parsing: 0 } : {};
  }

  /** The next offset the server holds per partition of these rows. */
  private async storedNext(rows: StagedRow[]): Promise<Map<string, number>> {
    const parts = new Map<string, string>();
    let min = Infinity;
    for (const r of rows) {
      parts.set(pkey(r.log_topic, r.log_partition), `(${sqlString(r.log_topic)}, ${r.log_partition})`);
      min = Math.min(min, r.log_offset);
    }
    const out = new Map<string, number>();
    if (parts.size === 0) return out;
    const got = await this.q.rows<{ t: string; p: number | string; o: string }>(
      `SELECT log_topic AS t, log_partition AS p, toString(max(log_offset)) AS o FROM ${EVENTS_TABLE}
       WHERE (log_topic, log_partition) IN (${[...parts.values()].join(', ')}) AND log_offset >= ${min} GROUP BY log_topic, log_partition`,
    );
    for (const g of got) out.set(pkey(g.t, Number(g.p)), Number(g.o) + 1);
    return out;
  }

  private async insertChecksums(sums: ChecksumRow[]): Promise<void> {
    if (sums.length > 0) await this.client.insert({ table: CHECKSUMS_TABLE, values: sums, format: 'JSONEachRow' });
  }

  /** Runs fn until it succeeds (see retrying); `before` runs ahead of each retry. */
  private withRetry<T>(fn: () => Promise<T>, before?: () => Promise<void>): Promise<T> {
    return retrying(fn, { ...this.policy, before });
  }
}

/** One intent's events from the journal, in event-time order: where each is in the log, and its payload. */
export async function intentEvents(
  client: ClickHouseClient,
  intentId: string,
): Promise<{ log_topic: string; log_partition: number; log_offset: number; event_type: string; payload: string }[]> {
  const rs = await client.query({
    // A quoted literal, not a query parameter: the Debian server (18.16) has no parameters.
    query: `SELECT log_topic, log_partition, log_offset, event_type, payload FROM ${EVENTS_TABLE} WHERE intent_id = ${sqlString(intentId)} ORDER BY ts_us, log_topic, log_partition, log_offset`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ log_topic: string; log_partition: number; log_offset: number | string; event_type: string; payload: string }>();
  return rows.map((r) => ({ ...r, log_partition: Number(r.log_partition), log_offset: Number(r.log_offset) }));
}
