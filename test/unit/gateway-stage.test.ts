import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, type Event, type Order } from '../../src/domain/events.js';
import { makeEvent } from '../../src/domain/envelope.js';
import { clientOrderId } from '../../src/domain/ids.js';
import { gatewayStage } from '../../src/gateway/stage.js';
import type { LogRecord } from '../../src/log/types.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { HEADER_TYPE, toRecord } from '../../src/runtime/codec.js';
import { openSimVenue } from '../../src/venues/sim/sim-venue.js';

const TS = '2026-01-02T10:00:00.000000Z';

const order: Order = {
  client_order_id: clientOrderId('g1'),
  intent_id: 'g1',
  leg: 0,
  attempt: 0,
  account: 'default',
  strategy: 's1',
  env: 'sim',
  instrument_id: 'BINANCE:BTCUSDT',
  venue: 'BINANCE',
  symbol: 'BTCUSDT',
  side: 'BUY',
  order_type: 'MARKET',
  qty: '0.1',
  tif: 'IOC',
  ref_price: '65000',
};

/** A record as a reader of exec.gateway gets it from disk: no decoded object, only bytes and headers. */
function fromDisk(offset: number, value: string, headers: Record<string, string>): LogRecord {
  return { topic: TOPICS.gateway, partition: 0, offset, key: 'default', value: Buffer.from(value), headers, timestamp: 0 };
}

test('the gateway skips its own events by their type header without parsing them, and sends each routed order once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-gateway-'));
  const venue = await openSimVenue({ dir, market: createSyntheticMarket({ seed: 1 }) });
  try {
    const submitted: string[] = [];
    const stage = gatewayStage({ venues: { sim: venue }, onSubmit: (o) => submitted.push(o.client_order_id) });
    const routed = toRecord(makeEvent('OrderRouted', 'g1/route/0', { intent_id: 'g1', account: 'default', strategy: 's1', ts: TS, causation: 'g1/risk' }, { order }), TS);
    const batch = [
      // Not JSON at all: parsing it would throw, so passing proves it was skipped unparsed.
      fromDisk(0, '\u0000not json', { [HEADER_TYPE]: 'OrderSubmitted' }),
      fromDisk(1, String(routed.value), routed.headers!),
    ];
    const out = (await stage.handle(batch)).map((r) => JSON.parse(String(r.value)) as Event);
    assert.deepEqual(submitted, [order.client_order_id]);
    assert.deepEqual(
      out.slice(0, 2).map((e) => e.type),
      ['OrderSubmitted', 'OrderAcked'],
    );
    assert.ok(out.every((e) => e.intent_id === 'g1'));

    // The same routed order again (a redelivery): never a second venue order.
    assert.deepEqual(await stage.handle([fromDisk(2, String(routed.value), routed.headers!)]), []);
    assert.equal(submitted.length, 1);
  } finally {
    await venue.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
