// The journal's DDL: infra/clickhouse/*.sql, applied in file-name order, one statement at a time
// (ClickHouse's HTTP interface takes one statement per request).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** infra/clickhouse of the project: the nearest one above this file (src/audit, dist/audit, dist-bench/src/audit). */
export const ddlDir = (): string => findUp(dirname(fileURLToPath(import.meta.url)), join('infra', 'clickhouse'));

function findUp(from: string, rel: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, rel))) return join(dir, rel);
    if (dirname(dir) === dir) throw new Error(`no ${rel} above ${from}: the ClickHouse DDL ships in the project's ${rel}`);
  }
}

export interface DdlStatement {
  file: string;
  sql: string;
  /** CREATE TABLE: replaced by file-backed views in the embedded journal. */
  table: boolean;
}

export function ddlStatements(dir = ddlDir()): DdlStatement[] {
  const out: DdlStatement[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const sql of splitStatements(readFileSync(dir + '/' + file, 'utf8'))) out.push({ file, sql, table: /^CREATE\s+TABLE\b/i.test(sql) });
  }
  return out;
}

/** Statements of a file: `--` comment lines dropped, split at a `;` that ends a line. */
export function splitStatements(text: string): string[] {
  const body = text
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join('\n');
  return body
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}
