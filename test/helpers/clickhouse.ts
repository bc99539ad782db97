// ClickHouse for the journal tests: the server in CLICKHOUSE_URL (started by `make test` through
// infra/dev/services.sh), a private server the tests may stop and restart, and sink helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditSinkOptions } from '../../src/audit/index.js';
import { catchUpJournal } from '../../src/assembly/journal.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { SERVICES } from './services.js';

export function clickhouseUrl(): string {
  const url = SERVICES.clickhouseUrl;
  if (url === '') throw new Error('CLICKHOUSE_URL is not set: run the ClickHouse tests through `make test`, which starts a server (infra/dev/clickhouse.sh)');
  return url;
}

/** Consumes a data dir's whole log into the audit journal, then stops the sink. */
export async function drainIntoJournal(o: AuditSinkOptions): Promise<void> {
  const log = await openLogReadOnly(o.dataDir);
  try {
    await catchUpJournal(log, o);
  } finally {
    await log.close();
  }
}

/** The documented analyst queries: every ```sql block of docs/audit.md. */
export function documentedQueries(): string[] {
  const md = readFileSync(join(import.meta.dirname, '../../docs/audit.md'), 'utf8');
  return [...md.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1].trim());
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const SERVER = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'].find((p) => existsSync(p)) ?? 'clickhouse-server';

/**
 * A ClickHouse server of the test's own (the binary infra/dev/clickhouse.sh installs), whose data
 * survives stop() and start(): for outage tests, which must not stop the shared server.
 */
export class OwnClickHouse {
  readonly dir = mkdtempSync(join(tmpdir(), 'fillstream-ch-'));
  private proc: ChildProcess | undefined;
  url = '';

  async start(): Promise<void> {
    if (!this.url) {
      const [http, tcp] = [await freePort(), await freePort()];
      mkdirSync(join(this.dir, 'data'), { recursive: true });
      writeFileSync(
        join(this.dir, 'config.xml'),
        `<?xml version="1.0"?><yandex><logger><level>warning</level><log>${this.dir}/server.log</log><errorlog>${this.dir}/server.err.log</errorlog></logger>
<listen_host>127.0.0.1</listen_host><http_port>${http}</http_port><tcp_port>${tcp}</tcp_port>
<path>${this.dir}/data/</path><tmp_path>${this.dir}/tmp/</tmp_path><user_files_path>${this.dir}/user_files/</user_files_path>
<format_schema_path>${this.dir}/format_schemas/</format_schema_path><users_config>${this.dir}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>67108864</uncompressed_cache_size><mlock_executable>false</mlock_executable></yandex>`,
      );
      writeFileSync(
        join(this.dir, 'users.xml'),
        `<?xml version="1.0"?><yandex><profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas></yandex>`,
      );
      this.url = `http://127.0.0.1:${http}`;
    }
    this.proc = spawn(SERVER, [`--config-file=${join(this.dir, 'config.xml')}`], { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(this.url + '/ping');
        if (r.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`ClickHouse did not start in 60 s (logs in ${this.dir})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM lets 18.16 keep serving open keep-alive connections for seconds; SIGKILL cuts them. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
    this.proc = undefined;
  }
}
