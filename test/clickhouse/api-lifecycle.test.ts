// serve with CLICKHOUSE_URL: an intent's lifecycle comes from the audit journal, once the audit
// sink has written it, with the same events the log holds.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../../src/audit/index.js';
import { Lifecycle } from '../../src/ops/contract.js';
import { generateIntents } from '../../src/tools/generate.js';
import { tempDir } from '../helpers/cli.js';
import { OwnClickHouse } from '../helpers/clickhouse.js';
import { getJson, serveInProcess, until, type Served } from '../helpers/serve.js';

describe('serve reads lifecycles from the ClickHouse journal', () => {
  let s: Served;
  const idPrefix = `life-${randomUUID().slice(0, 8)}-`;
  // A server of the test's own: a journal is one log's, and the shared one holds other tests' logs.
  const ch = new OwnClickHouse();

  before(async () => {
    await ch.start();
    await migrate(ch.url);
    const dir = tempDir('api-clickhouse');
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, [...generateIntents({ count: 50, seed: 4, badRatio: 0, idPrefix })].join('\n') + '\n');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents, audit: { clickhouseUrl: ch.url } });
  });
  after(async () => {
    await s?.stop();
    await ch.stop();
  });

  it("answers an intent's events from the journal, the same as the log's", async () => {
    const id = `${idPrefix}7`;
    const life = await until(
      'the intent journaled',
      async () => {
        const r = await getJson(`${s.url}/orders/${id}`);
        if (r.status !== 200) return undefined;
        const l = Lifecycle.parse(r.body);
        return l.events.some((e) => e.type === 'OrderFilled') ? l : undefined;
      },
      60_000,
    );
    assert.equal(life.source, 'clickhouse');
    assert.equal(life.intent_id, id);
    assert.ok(life.orders.length === 1);
    const fromLog = s.ops.tail!.recordsOf(id);
    assert.deepEqual(
      life.events.map((e) => `${e.topic}/${e.partition}:${e.offset}`).sort(),
      fromLog.map((p) => `${p.topic}/${p.partition}:${p.offset}`).sort(),
      'every record of the intent, once',
    );
    for (const t of ['IntentAccepted', 'RiskApproved', 'OrderRouted', 'OrderSubmitted', 'OrderFilled'])
      assert.ok(
        life.events.some((e) => e.type === t),
        t,
      );
    assert.equal((life.events.find((e) => e.type === 'IntentAccepted')!.event as { intent_id: string }).intent_id, id);
  });
});
