// Cancel and amend intents through the whole embedded pipeline, against the simulator: a resting
// order is amended then canceled; a cancel of a closed or unknown intent is refused with a reason;
// a cancel sent twice is a duplicate; an amend above the approved size is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPipeline } from '../../src/assembly/run.js';
import { TOPICS, type Event } from '../../src/domain/events.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { fromRecord } from '../../src/runtime/codec.js';
import { tempDir } from '../helpers/cli.js';

const T = (s: number) => `2026-01-02T10:00:${String(s).padStart(2, '0')}Z`;
const order = (id: string, s: number, limit: string, tif = 'GTC') => ({
  intent_id: id,
  ts: T(s),
  account: 'acct',
  instrument_id: 'BINANCE:BTCUSDT',
  side: 'BUY',
  size: { type: 'quantity', value: '0.002' },
  constraints: { order_type: 'LIMIT', limit_price: limit, tif },
});

async function gatewayEvents(dataDir: string): Promise<Event[]> {
  const log = await openLogReadOnly(dataDir);
  const out: Event[] = [];
  try {
    await log.scan([TOPICS.gateway, TOPICS.audit], (r) => out.push(fromRecord(r)));
  } finally {
    await log.close();
  }
  return out;
}

test('amend then cancel a resting order; refusals name their reason; a repeated cancel is a no-op', async () => {
  const dir = tempDir('order-change');
  const intents = [
    order('rest-1', 1, '30000.00'), // far below the ask: rests
    order('fill-1', 2, '90000.00', 'IOC'), // crosses: fills and closes
    { kind: 'amend', intent_id: 'amend-1', ts: T(3), account: 'acct', target_intent_id: 'rest-1', qty: '0.001', limit_price: '31000.00' },
    { kind: 'amend', intent_id: 'amend-2', ts: T(4), account: 'acct', target_intent_id: 'rest-1', qty: '0.005' },
    { kind: 'cancel', intent_id: 'cancel-1', ts: T(5), account: 'acct', target_intent_id: 'rest-1' },
    { kind: 'cancel', intent_id: 'cancel-1', ts: T(6), account: 'acct', target_intent_id: 'rest-1' },
    { kind: 'cancel', intent_id: 'cancel-2', ts: T(7), account: 'acct', target_intent_id: 'fill-1' },
    { kind: 'cancel', intent_id: 'cancel-3', ts: T(8), account: 'acct', target_intent_id: 'nobody' },
    { kind: 'cancel', intent_id: 'cancel-4', ts: T(9), account: 'acct', target_intent_id: 'rest-1', qty: '1' },
  ];
  const file = join(dir, 'intents.ndjson');
  writeFileSync(file, intents.map((i) => JSON.stringify(i)).join('\n') + '\n');
  const { view } = await runPipeline({ dataDir: dir, intents: file, untilIdle: true, fsync: 'off' });

  const rest = [...view.orders.values()].find((o) => o.order.intent_id === 'rest-1')!;
  assert.equal(rest.status, 'CANCELED');
  assert.equal(rest.order.qty, '0.001', 'the amend took the size down');
  assert.equal(rest.order.limit_price, '31000', 'and moved the price');
  const filled = [...view.orders.values()].find((o) => o.order.intent_id === 'fill-1')!;
  assert.equal(filled.status, 'FILLED');

  const events = await gatewayEvents(dir);
  const of = (type: string, intent: string) => events.filter((e) => e.type === type && e.intent_id === intent);
  assert.equal(of('OrderAmended', 'rest-1').length, 1);
  assert.equal(of('OrderCanceled', 'rest-1').length, 1);
  const refused = (intent: string) => {
    const [e] = events.filter((x) => x.type === 'OrderChangeRejected' && x.intent_id === intent);
    assert.ok(e && e.type === 'OrderChangeRejected', `a refusal for ${intent}`);
    return e.data;
  };
  assert.equal(refused('amend-2').code, 'AMEND_INCREASES_SIZE');
  assert.match(refused('amend-2').reason, /above the 0\.002 risk approved/);
  assert.equal(refused('cancel-2').code, 'NO_LIVE_ORDER', 'a filled order has nothing left to cancel');
  assert.equal(refused('cancel-3').code, 'NO_LIVE_ORDER');
  assert.equal(of('IntentDuplicate', 'cancel-1').length, 1, 'the second cancel-1 is a duplicate');
  assert.equal(events.filter((e) => e.intent_id === 'cancel-1' && e.type === 'OrderChangeRejected').length, 0);
  assert.equal(view.changes, 5, 'the cancels and amends risk let through (the duplicate and the dead letter are not)');
  assert.equal(view.dlq, 1, 'a cancel with a qty is dead-lettered');
  assert.deepEqual(view.dlq_by_code, { SCHEMA: 1 });
});
