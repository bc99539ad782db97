// Replay from disk: order status events fold from the record headers the codec writes, and a log
// written before those headers existed folds to the same view through the parse path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Order, VenueReport } from '../../src/domain/events.js';
import { openEmbeddedLog } from '../../src/log/embedded/index.js';
import { newOrder, oms } from '../../src/oms/index.js';
import { HEADER_INTENT_ID, HEADER_TYPE, toRecord } from '../../src/runtime/codec.js';
import { getPosition } from '../../src/positions/index.js';
import { foldLog, type View } from '../../src/projections/view.js';
import { tmpDir } from '../helpers/log-fixtures.js';

const T0 = '2026-01-02T10:00:00.000000Z';
const at = (s: number) => `2026-01-02T10:00:0${s}.000000Z`;

function order(n: number, qty: string, tif: Order['tif']): Order {
  return {
    client_order_id: `fs${n}`,
    intent_id: `i${n}`,
    leg: 0,
    attempt: 0,
    account: 'acct',
    strategy: 's',
    env: 'sim',
    instrument_id: 'BINANCE:BTCUSDT',
    venue: 'BINANCE',
    symbol: 'BTCUSDT',
    side: 'BUY',
    order_type: 'LIMIT',
    limit_price: '100',
    qty,
    tif,
    ref_price: '100',
  };
}

const trade = (id: string, qty: string, s: number): VenueReport => ({
  kind: 'TRADE',
  venue_order_id: 'v1',
  trade_id: id,
  qty,
  price: '100',
  fee: '0.1',
  fee_ccy: 'USDT',
  liquidity: 'TAKER',
  ts: at(s),
});

/** Routed, submitted, then the venue's reports, as the router and gateway write them. */
function lifecycle(o: Order, reports: VenueReport[]): Event[] {
  const envelope = { intent_id: o.intent_id, account: o.account, strategy: o.strategy, ts: T0, causation: 'c', recorded_at: T0 };
  const routed: Event = { ...envelope, event_id: `${o.intent_id}/route/0`, type: 'OrderRouted', data: { order: o } };
  const seed = { event_id: `${o.intent_id}/order/0/0`, causation: routed.event_id, recorded_at: T0 };
  return [routed, ...oms.decide({ kind: 'submitted', recovered: false, reports, envelope: seed }, newOrder(o, T0))];
}

const ack = (s: number): VenueReport => ({ kind: 'ACK', venue_order_id: 'v1', ts: at(s) });

const events: Event[] = [
  // Filled in two trades, with a re-sent trade (FillDuplicate) in between.
  ...lifecycle(order(1, '3', 'GTC'), [ack(1), trade('t1', '1', 2), trade('t1', '1', 2), trade('t2', '2', 3)]),
  // IOC: partly filled, the rest canceled; a late trade is an anomaly.
  ...lifecycle(order(2, '5', 'IOC'), [ack(1), trade('t1', '2', 4), { kind: 'CANCELED', reason: 'IOC', ts: at(4) }, trade('t2', '1', 5)]),
  // Rejected by the venue; resting; expired straight after the ack.
  ...lifecycle(order(3, '1', 'GTC'), [{ kind: 'REJECTED', code: 'LOT_SIZE', reason: 'lot', ts: at(2) }]),
  ...lifecycle(order(4, '1', 'GTC'), [ack(6)]),
  ...lifecycle(order(5, '1', 'FOK'), [ack(1), { kind: 'EXPIRED', reason: 'FOK', ts: at(1) }]),
];

async function replay(dir: string, headers: (h: Record<string, string>) => Record<string, string>): Promise<View> {
  const writer = await openEmbeddedLog({ dir, fsync: 'off' });
  await writer.append(
    events.map((e) => {
      const r = toRecord(structuredClone(e), T0);
      return { topic: r.topic, key: r.key, value: r.value, headers: headers(r.headers ?? {}) };
    }),
  );
  await writer.close();
  // A fresh open, like `fillstream replay`: every record decoded from disk.
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  try {
    return await foldLog(log);
  } finally {
    await log.close();
  }
}

test('replay folds status events from headers to the view a pre-header log gives', async (t) => {
  const current = await replay(tmpDir(t), (h) => h);
  const old = await replay(tmpDir(t), (h) => ({ [HEADER_TYPE]: h[HEADER_TYPE], [HEADER_INTENT_ID]: h[HEADER_INTENT_ID] }));
  assert.deepEqual(current, old);

  const status = (n: number) => current.orders.get(`fs${n}`)?.status;
  assert.deepEqual([1, 2, 3, 4, 5].map(status), ['FILLED', 'CANCELED', 'REJECTED', 'ACKED', 'EXPIRED']);
  assert.equal(current.orders.get('fs1')?.filled_qty, '3');
  assert.equal(current.orders.get('fs2')?.filled_qty, '2');
  assert.equal(current.orders.get('fs4')?.venue_order_id, 'v1');
  assert.equal(current.orders.get('fs5')?.ts, at(1));
  assert.equal(current.fill_duplicates, 1);
  assert.equal(current.anomalies, 1);
  assert.equal(current.last_ts, at(6));
  assert.equal(getPosition(current.positions, 'acct', 'BINANCE:BTCUSDT')?.qty, '5');
  assert.deepEqual([...current.positions.orders.keys()], ['fs4'], 'only the resting order keeps its route');
});
