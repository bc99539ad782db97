// SQL over the embedded journal with chdb (ClickHouse in process): fillstream.audit_events and
// fillstream.audit_checksums are views over the journal files, then the same analyst views as on the
// server, so the same queries run on both.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Session } from 'chdb';
import { ddlStatements } from './ddl.js';
import { auditDir } from './files.js';
import { CHECKSUM_COLUMNS, EVENT_COLUMNS, structureOf } from './columns.js';
import { CHECKSUMS_TABLE, EVENTS_TABLE, sqlString, type SqlRunner } from './sql.js';

export interface EmbeddedSql extends SqlRunner {
  /** Runs one statement; returns the output in `format` (e.g. PrettyCompactMonoBlock, JSONEachRow). */
  query(sql: string, format?: string): string;
  close(): void;
}

export function openEmbeddedSql(dataDir: string): EmbeddedSql {
  const dir = resolve(auditDir(dataDir));
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const session = new Session();
  try {
    session.query('CREATE DATABASE IF NOT EXISTS fillstream');
    const source = (table: string, prefix: string, ext: string, format: string, cols: readonly (readonly [string, string])[]) => {
      const structure = structureOf(cols);
      // No files yet: an empty table of the same shape keeps every query valid.
      if (!files.some((f) => f.startsWith(prefix) && f.endsWith(ext))) session.query(`CREATE TABLE ${table} (${structure}) ENGINE = Memory`);
      else session.query(`CREATE VIEW ${table} AS SELECT * FROM file(${sqlString(`${dir}/${prefix}*${ext}`)}, '${format}', ${sqlString(structure)})`);
    };
    source(EVENTS_TABLE, 'events-', '.tsv', 'TabSeparated', EVENT_COLUMNS);
    source(CHECKSUMS_TABLE, 'checksums-', '.ndjson', 'JSONEachRow', CHECKSUM_COLUMNS);
    for (const s of ddlStatements()) if (!s.table) session.query(s.sql);
  } catch (e) {
    session.close();
    throw e;
  }
  const query = (sql: string, format = 'TSV') => session.query(sql, format);
  return {
    query,
    async rows<T>(sql: string): Promise<T[]> {
      const out = query(sql, 'JSONEachRow');
      return out === ''
        ? []
        : out
            .trimEnd()
            .split('\n')
            .map((l) => JSON.parse(l) as T);
    },
    close: () => session.close(),
  };
}
