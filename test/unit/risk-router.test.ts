import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRisk, evolveRisk, initialRiskState, policyDiffers } from '../../src/risk/decide.js';
import { decideRoute } from '../../src/router/decide.js';
import { decideIntent, initialNormalizerState } from '../../src/normalizer/decide.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { makeEvent } from '../../src/domain/envelope.js';
import { clientOrderId } from '../../src/domain/ids.js';
import { dec, floorTo, fmt } from '../../src/domain/decimal.js';
import { quantityForNotional } from '../../src/market/book.js';
import type { EventOf, RiskPolicy } from '../../src/domain/events.js';

const market = createSyntheticMarket({ seed: 1 });
const accepted = (over: Record<string, unknown> = {}) => {
  const intent = {
    intent_id: 'r1',
    ts: '2026-01-02T10:00:00Z',
    instrument_id: 'BINANCE:BTCUSDT',
    side: 'BUY',
    size: { type: 'notional', value: '10000' },
    env: 'sim',
    ...over,
  };
  const [e] = decideIntent(initialNormalizerState(), Buffer.from(JSON.stringify(intent)), { topic: 'exec.intents', partition: 0, offset: 0 }, 0, { market });
  assert.equal(e.type, 'IntentAccepted');
  return e as EventOf<'IntentAccepted'>;
};
const withPolicy = (policy: RiskPolicy) =>
  evolveRisk(initialRiskState(), makeEvent('RiskPolicySet', 'policy/1', { intent_id: '', account: '', strategy: '', ts: '', causation: 'op' }, { version: 1, policy }));

test('risk approves within limits and names the policy version', () => {
  const [d] = decideRisk(withPolicy({ max_order_notional_usd: '50000', halted: false }), accepted());
  assert.equal(d.type, 'RiskApproved');
  assert.equal((d as EventOf<'RiskApproved'>).data.policy_version, 1);
  assert.equal(d.event_id, 'r1/risk');
});

test('risk rejects above max order notional, when halted, and off the allow-list', () => {
  const over = decideRisk(withPolicy({ max_order_notional_usd: '9999.99', halted: false }), accepted())[0] as EventOf<'RiskRejected'>;
  assert.equal(over.type, 'RiskRejected');
  assert.equal(over.data.code, 'MAX_ORDER_NOTIONAL');
  assert.match(over.data.reason, /10000 USD exceeds the limit of 9999.99 USD/);
  const halted = decideRisk(withPolicy({ halted: true }), accepted())[0] as EventOf<'RiskRejected'>;
  assert.equal(halted.data.code, 'HALTED');
  const off = decideRisk(withPolicy({ halted: false, allowed_instruments: ['ETH/USDT'] }), accepted())[0] as EventOf<'RiskRejected'>;
  assert.equal(off.data.code, 'INSTRUMENT_NOT_ALLOWED');
});

test('the allow-list narrows the venues of a bare symbol', () => {
  const d = decideRisk(withPolicy({ halted: false, allowed_instruments: ['OKX:BTC-USDT'] }), accepted({ instrument_id: 'BTCUSDT' }))[0] as EventOf<'RiskApproved'>;
  assert.equal(d.type, 'RiskApproved');
  assert.deepEqual(d.data.intent.venues, ['OKX:BTC-USDT']);
});

test('policyDiffers: nothing in force yet, same policy, changed policy', () => {
  const p: RiskPolicy = { max_order_notional_usd: '1', halted: false };
  assert.equal(policyDiffers(initialRiskState(), p), true);
  assert.equal(policyDiffers(withPolicy(p), { halted: false, max_order_notional_usd: '1' }), false);
  assert.equal(policyDiffers(withPolicy(p), { ...p, halted: true }), true);
});

test('router builds the venue order with a deterministic client order id', () => {
  const approved = decideRisk(initialRiskState(), accepted())[0] as EventOf<'RiskApproved'>;
  const [r] = decideRoute(approved, { market }) as EventOf<'OrderRouted'>[];
  assert.equal(r.type, 'OrderRouted');
  const o = r.data.order;
  assert.equal(o.client_order_id, clientOrderId('r1', 0, 0));
  assert.match(o.client_order_id, /^[A-Za-z0-9]{32}$/);
  assert.equal(o.venue, 'BINANCE');
  assert.equal(o.symbol, 'BTCUSDT');
  assert.equal(o.order_type, 'MARKET');
  assert.equal(o.tif, 'IOC');
  assert.equal(o.qty, approved.data.intent.qty);
  assert.deepEqual(decideRoute(approved, { market }), [r], 'pure: same input, same order');
});

test('router turns a slippage cap into a marketable LIMIT IOC at the protective price on the tick', () => {
  const approved = decideRisk(initialRiskState(), accepted({ side: 'BUY', constraints: { max_slippage_bps: 10 } }))[0] as EventOf<'RiskApproved'>;
  const o = (decideRoute(approved, { market })[0] as EventOf<'OrderRouted'>).data.order;
  assert.equal(o.order_type, 'LIMIT');
  assert.equal(o.tif, 'IOC');
  const ref = dec(approved.data.intent.ref_price);
  const px = dec(o.limit_price!);
  assert.ok(px.lte(ref.times('1.001')) && px.gt(ref), `buy guard ${px} vs ref ${ref}`);
  assert.ok(px.mod('0.01').eq(0));
  const sell = decideRisk(initialRiskState(), accepted({ intent_id: 'r2', side: 'SELL', constraints: { max_slippage_bps: 10 } }))[0] as EventOf<'RiskApproved'>;
  const so = (decideRoute(sell, { market })[0] as EventOf<'OrderRouted'>).data.order;
  assert.ok(dec(so.limit_price!).gte(dec(sell.data.intent.ref_price).times('0.999')));
});

test('a bare symbol routes to the first allowed venue and floors a notional quantity to its lot', () => {
  const approved = decideRisk(withPolicy({ halted: false, allowed_instruments: ['KUCOIN:ETH-USDT'] }), accepted({ instrument_id: 'ETHUSDT' }))[0] as EventOf<'RiskApproved'>;
  const o = (decideRoute(approved, { market })[0] as EventOf<'OrderRouted'>).data.order;
  assert.equal(o.instrument_id, 'KUCOIN:ETH-USDT');
  assert.ok(dec(o.qty).mod('0.0000001').eq(0));
  // Sized on KuCoin's own book (not the Binance book the normalizer used), floored to KuCoin's lot.
  const kucoin = market.bookAt('KUCOIN:ETH-USDT', Date.parse('2026-01-02T10:00:00Z') * 1000)!;
  assert.equal(o.qty, fmt(floorTo(quantityForNotional(kucoin, 'BUY', dec('10000'))!, dec('0.0000001'))));
});

test('when risk narrows a bare symbol to another venue, the order is sized and guarded on that venue\'s book', () => {
  const approved = decideRisk(withPolicy({ halted: false, allowed_instruments: ['OKX:BTC-USDT'] }), accepted({ instrument_id: 'BTCUSDT', constraints: { max_slippage_bps: 2 } }))[0] as EventOf<'RiskApproved'>;
  assert.equal(approved.data.intent.sized_on, 'BINANCE:BTCUSDT');
  const o = (decideRoute(approved, { market })[0] as EventOf<'OrderRouted'>).data.order;
  assert.equal(o.instrument_id, 'OKX:BTC-USDT');
  const okxMid = dec(market.bookAt('OKX:BTC-USDT', Date.parse('2026-01-02T10:00:00Z') * 1000)!.bids[0].price)
    .plus(market.bookAt('OKX:BTC-USDT', Date.parse('2026-01-02T10:00:00Z') * 1000)!.asks[0].price)
    .div(2);
  assert.equal(o.ref_price, okxMid.toString());
  // The 2 bps guard is measured from OKX's own mid and sits on OKX's 0.1 tick.
  const px = dec(o.limit_price!);
  assert.ok(px.lte(okxMid.times('1.0002')) && px.gt(okxMid.times('1.0001')), `guard ${px} vs OKX mid ${okxMid}`);
  assert.ok(px.mod('0.1').eq(0));
});
