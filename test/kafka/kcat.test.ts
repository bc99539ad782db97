// An upstream agent with no fillstream code at all: kcat (librdkafka) writes plain JSON intents to
// exec.intents, keyed by account, and fillstream consumes what is there. kcat comes from Debian's
// packages; `make test` installs it (infra/dev/services.sh up).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPICS } from '../../src/domain/events.js';
import { accountKey } from '../../src/assembly/run.js';
import type { Summary } from '../../src/projections/view.js';
import { cli, cliJson, requireBuild, tempDir, writeIntents } from '../helpers/cli.js';
import { kafkaBrokers } from '../helpers/kafka.js';

const brokers = kafkaBrokers();
// The plain-JSON contract end to end, as a deployment without a schema registry sees it (the
// registry's wire format has its own test): the stages run by this file inherit this environment.
delete process.env.SCHEMA_REGISTRY_URL;
let work: string;

before(() => {
  requireBuild();
  work = tempDir('kcat');
});

/** Runs kcat against the test broker; fails the test on a non-zero exit, with kcat's stderr. */
function kcat(args: string[], input?: string): string {
  const r = spawnSync('kcat', ['-b', brokers.join(','), ...args], { input, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60_000 });
  const error: NodeJS.ErrnoException | undefined = r.error;
  if (error?.code === 'ENOENT') {
    throw new Error('kcat not found: `make test` installs it (infra/dev/services.sh up runs apt-get install kcat)');
  }
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `kcat ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const SAME = ['intents', 'dlq', 'duplicates', 'accepted', 'rejected', 'orders', 'fills', 'open_orders', 'pending'] as const;

test("intents produced by kcat (key = account, a tab, the JSON) are all accounted for and end in the embedded run's state; dead letters readable with kcat carry a reason", () => {
  const intents = writeIntents(work, { count: 200, seed: 31, badRatio: 0.06, duplicateRatio: 0.04, idPrefix: 'kc' });
  const lines = readFileSync(intents, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  assert.equal(lines.length, 200);
  // No tab or CR inside a line, or kcat would split it differently from the file's reader.
  for (const l of lines) assert.ok(!/[\t\r]/.test(l), l);

  const prefix = `k${randomUUID().slice(0, 8)}.`;
  process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
  const created = cli(['topics', 'create', '--partitions', '3']);
  assert.equal(created.status, 0, created.stderr);

  // The agent's side: one message per line; a line without a key (bad JSON) is sent without the
  // delimiter, which kcat produces with a null key. kcat's default partitioner is librdkafka's
  // consistent_random (CRC32), not Kafka's murmur2: an account's intents still share a partition.
  const payload = lines.map((l) => {
    const key = accountKey(Buffer.from(l));
    return key === null ? l : `${key}\t${l}`;
  });
  // `-K '\t'` as typed in a shell: kcat unescapes the backslash-t itself.
  kcat(['-P', '-t', prefix + TOPICS.intents, '-K', '\\t'], payload.join('\n') + '\n');
  const produced = kcat(['-C', '-t', prefix + TOPICS.intents, '-e', '-q', '-J'])
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { partition: number; key: string | null; payload: string });
  assert.deepEqual(produced.map((r) => r.payload).sort(), [...lines].sort(), 'one record per line, the line as its value');
  const partitionOfKey = new Map<string, number>();
  for (const r of produced) {
    assert.equal(r.key, accountKey(Buffer.from(r.payload)), `keyed by account: ${r.payload}`);
    if (r.key === null) continue;
    assert.equal(partitionOfKey.get(r.key) ?? r.partition, r.partition, `account ${r.key} in one partition`);
    partitionOfKey.set(r.key, r.partition);
  }

  // fillstream with no --intents: it takes what upstream wrote.
  const onKafka = cliJson<Summary>(['run', '--bus', 'kafka', '--data-dir', join(work, 'kafka'), '--until-idle']);
  assert.equal(onKafka.intents, lines.length, 'every record read');
  assert.equal(onKafka.dlq + onKafka.duplicates + onKafka.accepted + onKafka.rejected, lines.length, `every line accounted for: ${JSON.stringify(onKafka)}`);
  assert.equal(onKafka.pending, 0);
  assert.ok(onKafka.dlq > 0 && onKafka.duplicates > 0 && onKafka.accepted > 0, `the sample has bad lines, repeats and good intents: ${JSON.stringify(onKafka)}`);

  const embedded = cliJson<Summary>(['run', '--data-dir', join(work, 'embedded'), '--intents', intents, '--until-idle']);
  for (const k of SAME) assert.equal(onKafka[k], embedded[k], k);
  assert.deepEqual(onKafka.dlq_by_code, embedded.dlq_by_code);
  assert.equal(onKafka.state_hash, embedded.state_hash);

  // Back out through kcat: exec.dlq as kcat's JSON envelope, one object per record.
  const letters = kcat(['-C', '-t', prefix + TOPICS.dlq, '-e', '-q', '-J'])
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { payload: string; key: string | null; headers?: string[] });
  assert.equal(letters.length, onKafka.dlq, 'one dead letter per rejected line');
  const codes: Record<string, number> = {};
  const sent = new Set(lines);
  for (const l of letters) {
    const { data } = JSON.parse(l.payload) as { data: { code: string; reason: string; raw: string } };
    assert.ok(typeof data.code === 'string' && data.code !== '', l.payload);
    assert.ok(typeof data.reason === 'string' && data.reason.length > 10, `a dead letter without a reason: ${l.payload}`);
    assert.ok(sent.has(data.raw), `the raw input is the line upstream sent: ${data.raw}`);
    codes[data.code] = (codes[data.code] ?? 0) + 1;
  }
  assert.deepEqual(codes, onKafka.dlq_by_code);
});
