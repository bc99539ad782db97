import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyDiffers, risk, type RiskCommand } from '../../src/risk/decide.js';
import { DEFAULT_POLICY } from '../../src/risk/policy.js';
import { router, type RouteIntent } from '../../src/router/decide.js';
import { normalizer } from '../../src/normalizer/decide.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { makeEvent } from '../../src/domain/envelope.js';
import { clientOrderId } from '../../src/domain/ids.js';
import { dec, floorTo, fmt } from '../../src/domain/decimal.js';
import { quantityForNotional } from '../../src/market/book.js';
import type { EventOf, RiskPolicy } from '../../src/domain/events.js';
import { given } from '../helpers/decider.js';

const market = createSyntheticMarket({ seed: 1 });

/** An intent as the normalizer accepted it. */
function accepted(over: Record<string, unknown> = {}): EventOf<'IntentAccepted'> {
  const intent = {
    intent_id: 'r1',
    ts: '2026-01-02T10:00:00Z',
    instrument_id: 'BINANCE:BTCUSDT',
    side: 'BUY',
    size: { type: 'notional', value: '10000' },
    env: 'sim',
    ...over,
  };
  const [e] = given(normalizer)
    .when({ raw: Buffer.from(JSON.stringify(intent)), source: { topic: 'exec.intents', partition: 0, offset: 0 }, arrived_us: 0, market })
    .then({ type: 'IntentAccepted' });
  assert.ok(e.type === 'IntentAccepted');
  return e;
}

/** Policy `version` put in force. */
const policySet = (version: number, policy: RiskPolicy) =>
  makeEvent('RiskPolicySet', `policy/${version}`, { intent_id: '', account: '', strategy: '', ts: '', causation: 'op' }, { version, policy });
const assess = (intent: EventOf<'IntentAccepted'>): RiskCommand => ({ kind: 'assess', intent, market });
const setPolicy = (policy: RiskPolicy): RiskCommand => ({ kind: 'set_policy', policy, ts: '2026-01-02T09:00:00.000000Z' });
const route = (approved: EventOf<'RiskApproved'>): RouteIntent => ({ approved, market });

/** What risk approves `intent` as, under `policy` (none: the default, version 0). */
function approved(intent: EventOf<'IntentAccepted'>, policy?: RiskPolicy): EventOf<'RiskApproved'> {
  const [e] = given(risk, ...(policy ? [policySet(1, policy)] : []))
    .when(assess(intent))
    .then({ type: 'RiskApproved' });
  assert.ok(e.type === 'RiskApproved');
  return e;
}

/** The order the router makes of an approved intent. */
function routed(a: EventOf<'RiskApproved'>) {
  const [e] = given(router).when(route(a)).then({ type: 'OrderRouted' });
  assert.ok(e.type === 'OrderRouted');
  return e.data.order;
}

test('risk approves within limits and names the policy version', () => {
  given(risk, policySet(1, { max_order_notional_usd: '50000', halted: false }))
    .when(assess(accepted()))
    .then({ type: 'RiskApproved', event_id: 'r1/risk', data: { policy_version: 1 } });
});

test('risk rejects above max order notional, when halted, and off the allow-list', () => {
  const over = given(risk, policySet(1, { max_order_notional_usd: '9999.99', halted: false }))
    .when(assess(accepted()))
    .thenRejected('MAX_ORDER_NOTIONAL', /10000 USD exceeds the limit of 9999.99 USD/);
  assert.equal(over.data.policy_version, 1);
  given(risk, policySet(1, { halted: true }))
    .when(assess(accepted()))
    .thenRejected('HALTED');
  given(risk, policySet(1, { halted: false, allowed_instruments: ['ETH/USDT'] }))
    .when(assess(accepted()))
    .thenRejected('INSTRUMENT_NOT_ALLOWED');
});

test('the allow-list narrows the venues of a bare symbol', () => {
  given(risk, policySet(1, { halted: false, allowed_instruments: ['OKX:BTC-USDT'] }))
    .when(assess(accepted({ instrument_id: 'BTCUSDT' })))
    .then({ type: 'RiskApproved', data: { intent: { venues: ['OKX:BTC-USDT'] } } });
});

test('policyDiffers: nothing in force yet, same policy, changed policy', () => {
  const p: RiskPolicy = { max_order_notional_usd: '1', halted: false };
  assert.equal(policyDiffers(risk.initialState(), p), true);
  const inForce = given(risk, policySet(1, p)).state;
  assert.equal(policyDiffers(inForce, { halted: false, max_order_notional_usd: '1' }), false);
  assert.equal(policyDiffers(inForce, { ...p, halted: true }), true);
});

test('an operator setting a policy puts the next version in force, unless it is the one in force already', () => {
  const p: RiskPolicy = { max_order_notional_usd: '1', halted: false };
  given(risk)
    .when(setPolicy(DEFAULT_POLICY))
    .then({ type: 'RiskPolicySet', event_id: 'policy/1', causation: 'operator', ts: '2026-01-02T09:00:00.000000Z', data: { version: 1, policy: DEFAULT_POLICY } });
  given(risk, policySet(1, p))
    .when(setPolicy({ halted: false, max_order_notional_usd: '1' }))
    .thenNothing();
  const w = given(risk, policySet(1, p)).when(setPolicy({ ...p, halted: true }));
  w.then({ type: 'RiskPolicySet', event_id: 'policy/2', data: { version: 2, policy: { halted: true } } });
  assert.equal(w.state.version, 2);
  assert.equal(w.state.policy.halted, true);
});

test('policies only move forward: a copy of an older or the same version changes nothing', () => {
  const halted = given(risk, policySet(2, { halted: true }), policySet(1, { halted: false }), policySet(2, { halted: false })).state;
  assert.equal(halted.version, 2);
  assert.deepEqual(halted.policy, { halted: true });
  given(risk, policySet(2, { halted: true }), policySet(1, { halted: false }))
    .when(assess(accepted()))
    .thenRejected('HALTED');
});

test('router builds the venue order with a deterministic client order id', () => {
  const a = approved(accepted());
  const [r] = given(router)
    .when(route(a))
    .then({
      type: 'OrderRouted',
      event_id: 'r1/route/0',
      data: { order: { client_order_id: clientOrderId('r1', 0, 0), venue: 'BINANCE', symbol: 'BTCUSDT', order_type: 'MARKET', tif: 'IOC', qty: a.data.intent.qty } },
    });
  assert.ok(r.type === 'OrderRouted');
  assert.match(r.data.order.client_order_id, /^[A-Za-z0-9]{32}$/);
  assert.deepEqual(router.decide(route(a), router.initialState()), [r], 'pure: same input, same order');
});

test('router turns a slippage cap into a marketable LIMIT IOC at the protective price on the tick', () => {
  const a = approved(accepted({ side: 'BUY', constraints: { max_slippage_bps: 10 } }));
  const o = routed(a);
  assert.equal(o.order_type, 'LIMIT');
  assert.equal(o.tif, 'IOC');
  const ref = dec(a.data.intent.ref_price);
  const px = dec(o.limit_price!);
  assert.ok(px.lte(ref.times('1.001')) && px.gt(ref), `buy guard ${px} vs ref ${ref}`);
  assert.ok(px.mod('0.01').eq(0));
  const sell = approved(accepted({ intent_id: 'r2', side: 'SELL', constraints: { max_slippage_bps: 10 } }));
  assert.ok(dec(routed(sell).limit_price!).gte(dec(sell.data.intent.ref_price).times('0.999')));
});

test('a bare symbol routes to the first allowed venue and floors a notional quantity to its lot', () => {
  const o = routed(approved(accepted({ instrument_id: 'ETHUSDT' }), { halted: false, allowed_instruments: ['KUCOIN:ETH-USDT'] }));
  assert.equal(o.instrument_id, 'KUCOIN:ETH-USDT');
  assert.ok(dec(o.qty).mod('0.0000001').eq(0));
  // Sized on KuCoin's own book (not the Binance book the normalizer used), floored to KuCoin's lot.
  const kucoin = market.bookAt('KUCOIN:ETH-USDT', Date.parse('2026-01-02T10:00:00Z') * 1000)!;
  assert.equal(o.qty, fmt(floorTo(quantityForNotional(kucoin, 'BUY', dec('10000'))!, dec('0.0000001'))));
});

test("when risk narrows a bare symbol to another venue, the order is sized and guarded on that venue's book", () => {
  const a = approved(accepted({ instrument_id: 'BTCUSDT', constraints: { max_slippage_bps: 2 } }), { halted: false, allowed_instruments: ['OKX:BTC-USDT'] });
  assert.equal(a.data.intent.sized_on, 'BINANCE:BTCUSDT');
  const o = routed(a);
  assert.equal(o.instrument_id, 'OKX:BTC-USDT');
  const okx = market.bookAt('OKX:BTC-USDT', Date.parse('2026-01-02T10:00:00Z') * 1000)!;
  const okxMid = dec(okx.bids[0].price).plus(okx.asks[0].price).div(2);
  assert.equal(o.ref_price, okxMid.toString());
  // The 2 bps guard is measured from OKX's own mid and sits on OKX's 0.1 tick.
  const px = dec(o.limit_price!);
  assert.ok(px.lte(okxMid.times('1.0002')) && px.gt(okxMid.times('1.0001')), `guard ${px} vs OKX mid ${okxMid}`);
  assert.ok(px.mod('0.1').eq(0));
});
