// The immutable audit journal: every event record of the log, exactly once, into ClickHouse (when
// a URL is given) or into append-only files in the data dir; with a per-partition hash chain and a
// daily checksum chain that `verify` checks.
import type { Sink } from '../runtime/sink.js';
import { ClickHouseStore, clickhouseClient, clickhouseRunner, type RetryOptions } from './clickhouse.js';
import { openEmbeddedSql } from './embedded.js';
import { FileStore } from './files.js';
import { JournalSink, type BatchOptions } from './sink.js';
import { fetchDay } from './sql.js';
import { verifyDay, type VerifyReport } from './verify.js';

export { migrate, ClickHouseStore, clickhouseClient, intentEvents } from './clickhouse.js';
export { openEmbeddedSql, type EmbeddedSql } from './embedded.js';
export { FileStore, auditDir, storedEnds } from './files.js';
export { JournalSink, AUDIT_TOPICS, type BatchOptions } from './sink.js';
export { verifyDay, type Finding, type VerifyReport } from './verify.js';
export { ddlStatements } from './ddl.js';

export interface AuditSinkOptions extends BatchOptions, RetryOptions {
  dataDir: string;
  /** ClickHouse HTTP URL; without it the journal goes to files in <dataDir>/audit. */
  clickhouseUrl?: string;
}

export async function openAuditSink(o: AuditSinkOptions): Promise<Sink> {
  const store = o.clickhouseUrl ? new ClickHouseStore(o.clickhouseUrl, o) : new FileStore(o.dataDir);
  return new JournalSink(store, o);
}

/** Verifies one day of the journal (on the server when a URL is given, else the data dir's files). */
export async function verifyJournal(o: { day: string; dataDir: string; clickhouseUrl?: string }): Promise<VerifyReport> {
  if (o.clickhouseUrl) {
    const client = clickhouseClient(o.clickhouseUrl);
    try {
      return verifyDay({ day: o.day, ...(await fetchDay(clickhouseRunner(client), o.day)) });
    } finally {
      await client.close();
    }
  }
  const sql = openEmbeddedSql(o.dataDir);
  try {
    return verifyDay({ day: o.day, ...(await fetchDay(sql, o.day)) });
  } finally {
    sql.close();
  }
}
