// The risk decider, rule by rule: each rule passes what is within it, rejects a breach with its
// stable code and a reason naming the limit and the value, and only warns when warn_only. Then
// revise, scopes, time (windows, velocity, duplicates, the UTC day), what the fold counts (open
// intents, fills, open orders), loss limits and trading states, operator commands and flattens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZERO, dec, floorTo, fmt } from '../../src/domain/decimal.js';
import { makeEvent } from '../../src/domain/envelope.js';
import type { EventOf, RiskRejectCode } from '../../src/domain/events.js';
import { isoToMicros } from '../../src/domain/time.js';
import { risk, type RiskEvent } from '../../src/risk/decide.js';
import { ruleSetHash } from '../../src/risk/policy.js';
import { given } from '../helpers/decider.js';
import { BTC, T0, Tape, accepted, assess, at, canceled, filled, market, mid, operate, operator, policySet, routed, venueRejected, type IntentSpec } from '../helpers/risk.js';

const ETH = 'BINANCE:ETHUSDT';
const OKX_BTC = 'OKX:BTC-USDT';
const LOT = dec('0.00001');

type Rule = Record<string, unknown> & { rule: string };

/**
 * One rule three ways: `pass` is approved, `breach` rejected with `code` and a reason matching
 * `reason`, and with warn_only the breach is approved after a RiskWarned with the same code and
 * reason. `before` is folded first (positions, earlier approvals).
 */
function ruleCase(o: {
  rule: Rule;
  pass: IntentSpec;
  breach: IntentSpec;
  code: RiskRejectCode;
  reason: RegExp;
  before?: (t: Tape) => void;
  policy?: Record<string, unknown>;
}): void {
  const tape = (rule: Rule) => {
    const t = new Tape(policySet({ ...o.policy, rules: [rule] }));
    o.before?.(t);
    return t;
  };
  const t = tape(o.rule);
  const [ok] = given(risk, ...t.log)
    .when(assess(accepted('pass', o.pass)))
    .then({ type: 'RiskApproved', data: { policy_version: 1 } });
  assert.equal(ok.type === 'RiskApproved' && ok.data.intent.qty, accepted('pass', o.pass).data.intent.qty, 'approved as it came');
  const [no] = given(risk, ...t.log)
    .when(assess(accepted('breach', o.breach)))
    .then({ type: 'RiskRejected', data: { code: o.code, reason: o.reason, policy_version: 1 } });
  assert.equal(no.type === 'RiskRejected' && no.data.rule_set_hash, t.state.hash);
  given(risk, ...tape({ ...o.rule, warn_only: true }).log)
    .when(assess(accepted('breach', o.breach)))
    .then(
      { type: 'RiskWarned', event_id: 'breach/risk/warn/0', data: { code: o.code, reason: o.reason, policy_version: 1 } },
      { type: 'RiskApproved', data: { intent: { qty: accepted('breach', o.breach).data.intent.qty } } },
    );
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- per order ----------------------------------------------------------------------------

test('max_order_notional: the order notional against the limit', () => {
  ruleCase({
    rule: { rule: 'max_order_notional', limit_usd: '20000' },
    pass: { usd: '20000' },
    breach: { usd: '20000.5' },
    code: 'MAX_ORDER_NOTIONAL',
    reason: /order notional 20000\.5 USD exceeds the limit of 20000 USD/,
  });
});

test('the legacy max_order_notional_usd field is the same limit', () => {
  const t = new Tape(policySet({ max_order_notional_usd: '5000' }));
  t.reject(accepted('i1'), 'MAX_ORDER_NOTIONAL', /10000 USD exceeds the limit of 5000 USD/);
  t.approve(accepted('i2', { usd: '5000' }));
});

test('max_order_qty: the base quantity of the named instrument', () => {
  ruleCase({
    rule: { rule: 'max_order_qty', limit: '0.5', instrument: BTC },
    pass: { qty: '0.5' },
    breach: { qty: '0.50001' },
    code: 'MAX_ORDER_QTY',
    reason: /order quantity 0\.50001 BTC exceeds the limit of 0\.5 BTC for BINANCE:BTCUSDT/,
  });
  // Another instrument is not limited by it.
  new Tape(policySet({ rules: [{ rule: 'max_order_qty', limit: '0.5', instrument: BTC }] })).approve(accepted('e', { instrument: ETH, qty: '3' }));
});

test('price_band: a limit price within the band of the mid at the intent time', () => {
  const m = mid(BTC);
  const px = (bps: number) => fmt(m.times(dec(10_000 + bps).div(10_000)).round(2));
  ruleCase({
    rule: { rule: 'price_band', max_bps: 50 },
    pass: { qty: '0.1', limit_price: px(-49) },
    breach: { qty: '0.1', limit_price: px(80) },
    code: 'PRICE_BAND',
    reason: new RegExp(`limit price ${escape(px(80))} is 80(\\.0\\d)? bps from the mid ${escape(fmt(m))}, beyond the band of 50 bps`),
  });
  // A market order has no limit price to check.
  new Tape(policySet({ rules: [{ rule: 'price_band', max_bps: 1 }] })).approve(accepted('mkt'));
});

test('fat_finger: at most a share of the depth visible on the side the order takes', () => {
  const book = market.bookAt(BTC, isoToMicros(T0))!;
  const asks = book.asks.slice(0, 5).reduce((s, l) => s.plus(l.qty), ZERO);
  const bids = book.bids.slice(0, 5).reduce((s, l) => s.plus(l.qty), ZERO);
  const half = (d: typeof ZERO) => floorTo(d.div(2), LOT);
  ruleCase({
    rule: { rule: 'fat_finger', max_share_of_depth: '0.5', levels: 5 },
    pass: { qty: fmt(half(asks)) },
    breach: { qty: fmt(half(asks).plus(dec('0.01'))) },
    code: 'FAT_FINGER',
    reason: new RegExp(`order quantity ${escape(fmt(half(asks).plus(dec('0.01'))))} BTC is more than 0\\.5 of the ${escape(fmt(asks))} BTC visible in 5 levels of BINANCE:BTCUSDT`),
  });
  // A sell is measured against the bids.
  const t = new Tape(policySet({ rules: [{ rule: 'fat_finger', max_share_of_depth: '0.5', levels: 5 }] }));
  t.approve(accepted('s1', { side: 'SELL', qty: fmt(half(bids)) }));
  t.reject(accepted('s2', { side: 'SELL', qty: fmt(half(bids).plus(LOT)) }), 'FAT_FINGER', new RegExp(`of the ${escape(fmt(bids))} BTC visible`));
});

test('order_size: the venue minimum and maximum in USD', () => {
  ruleCase({
    rule: { rule: 'order_size', min_usd: '100', max_usd: '50000', venue: 'BINANCE' },
    pass: { usd: '100' },
    breach: { usd: '50001' },
    code: 'ORDER_SIZE_MAX',
    reason: /order notional 50001 USD exceeds BINANCE's maximum of 50000 USD/,
  });
  ruleCase({
    rule: { rule: 'order_size', min_usd: '100' },
    pass: { usd: '50001' },
    breach: { usd: '99.99' },
    code: 'ORDER_SIZE_MIN',
    reason: /order notional 99\.99 USD is below BINANCE's minimum of 100 USD/,
  });
});

// ---- per account and instrument -----------------------------------------------------------

test('position_limit: the resulting signed position against the limit, either side', () => {
  ruleCase({
    rule: { rule: 'position_limit', limit: '1' },
    pass: { qty: '1' },
    breach: { qty: '1.2' },
    code: 'POSITION_LIMIT',
    reason: /resulting position 1\.2 BTC in BTC\/USDT of A exceeds the limit of 1/,
  });
  ruleCase({
    rule: { rule: 'position_limit', limit: '1' },
    pass: { side: 'SELL', qty: '1' },
    breach: { side: 'SELL', qty: '1.5' },
    code: 'POSITION_LIMIT',
    reason: /resulting position -1\.5 BTC in BTC\/USDT of A exceeds the limit of 1/,
  });
});

test('position_limit counts open (approved, unfilled) intents and fills, on every venue of the pair', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'position_limit', limit: '1' }] }));
  const first = t.approve(accepted('p1', { qty: '0.6' }));
  t.reject(accepted('p2', { qty: '0.6' }), 'POSITION_LIMIT', /resulting position 1\.2 BTC/);
  // OKX's BTC/USDT is the same pair.
  t.reject(accepted('p2-okx', { qty: '0.6', instrument: OKX_BTC }), 'POSITION_LIMIT');
  // The order of p1 ends unfilled: its quantity is free again.
  const o1 = routed(first);
  t.add(o1, canceled(o1));
  const second = t.approve(accepted('p3', { qty: '0.6' }));
  // p3 fills 0.3, then its remainder is canceled: 0.3 held.
  const o3 = routed(second);
  t.add(o3, filled(o3, '0.3', second.data.intent.ref_price), canceled(o3));
  t.approve(accepted('p4', { qty: '0.7' }));
  // 0.3 held + 0.7 open.
  t.reject(accepted('p5', { qty: '0.00001' }), 'POSITION_LIMIT', /resulting position 1\.00001 BTC/);
  // Selling reduces it.
  t.approve(accepted('p6', { side: 'SELL', qty: '2' }));
});

test('a position_limit on one venue instrument counts only that instrument', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'position_limit', limit: '1', instrument: BTC }] }));
  t.fill(t.approve(accepted('okx', { qty: '0.9', instrument: OKX_BTC })));
  t.approve(accepted('b1', { qty: '1' }));
});

/** A tape with A long 1 BTC (bought at the mid) under `rules`. */
function longOneBtc(rules: Rule[], extra: Record<string, unknown> = {}): Tape {
  const t = new Tape(policySet({ rules: [] }));
  t.fill(t.approve(accepted('long', { qty: '1' })), mid(BTC));
  t.add(policySet({ ...extra, rules }, 2));
  return t;
}

test('gross_exposure per account: held and open positions at their marks, plus the order', () => {
  const held = mid(BTC);
  const limit = fmt(held.plus(30000).round(0));
  ruleCase({
    rule: { rule: 'gross_exposure', limit_usd: limit },
    policy: {},
    before: (t) => t.fill(t.approve(accepted('long', { qty: '1' })), held),
    pass: { usd: '25000' },
    breach: { usd: '40000' },
    code: 'GROSS_EXPOSURE',
    reason: new RegExp(`gross exposure of A would be [\\d.]+ USD, above the limit of ${limit} USD`),
  });
  // Selling takes exposure off, up to the position and as much again the other way.
  const t = longOneBtc([{ rule: 'gross_exposure', limit_usd: limit }]);
  t.approve(accepted('sell', { side: 'SELL', qty: '1.4' }));
  // Another account has its own exposure.
  t.approve(accepted('b', { account: 'B', usd: '40000' }));
});

test('gross and net exposure of the whole book add up every account', () => {
  const bookGross = longOneBtc([{ rule: 'gross_exposure', limit_usd: '100000', book: true }]);
  bookGross.reject(accepted('b1', { account: 'B', usd: '40000' }), 'GROSS_EXPOSURE', /gross exposure of the book would be [\d.]+ USD, above the limit of 100000 USD/);
  // B selling BTC adds to the gross exposure too.
  bookGross.reject(accepted('b2', { account: 'B', side: 'SELL', usd: '40000' }), 'GROSS_EXPOSURE');
  bookGross.approve(accepted('b3', { account: 'B', usd: '30000' }));

  const bookNet = longOneBtc([{ rule: 'net_exposure', limit_usd: '100000', book: true }]);
  // A short in B nets against A's long.
  bookNet.approve(accepted('n1', { account: 'B', side: 'SELL', usd: '90000' }));
  // About 65000 long, 90000 short (open), 130000 more long.
  bookNet.reject(accepted('n2', { account: 'B', usd: '130000' }), 'NET_EXPOSURE', /net exposure of the book would be [\d.]+ USD, above the limit of 100000 USD/);
  bookNet.approve(accepted('n3', { account: 'B', usd: '120000' }));
});

test('net_exposure per account', () => {
  ruleCase({
    rule: { rule: 'net_exposure', limit_usd: '80000' },
    pass: { usd: '80000' },
    breach: { side: 'SELL', usd: '80001' },
    code: 'NET_EXPOSURE',
    reason: /net exposure of A would be -[\d.]+ USD, above the limit of 80000 USD/,
  });
});

test('leverage: gross exposure over equity_usd plus the PnL', () => {
  // Exposure is at the mark: 2× 50000 of equity is this much BTC.
  const most = floorTo(dec(100000).div(mid(BTC)), LOT);
  ruleCase({
    rule: { rule: 'leverage', max: '2' },
    policy: { equity_usd: { A: '50000' } },
    pass: { qty: fmt(most) },
    breach: { qty: fmt(most.plus(dec('0.001'))) },
    code: 'LEVERAGE',
    reason: /leverage of A would be [\d.]+×, above 2× its equity of 50000 USD/,
  });
  // No equity known for the account.
  new Tape(policySet({ rules: [{ rule: 'leverage', max: '2' }], equity_usd: { B: '1' } })).reject(accepted('n'), 'LEVERAGE', /no equity is known for account A/);
  // '*' is every account's.
  new Tape(policySet({ rules: [{ rule: 'leverage', max: '2' }], equity_usd: { '*': '50000' } })).approve(accepted('star', { usd: '90000' }));

  // A loss lowers the equity: 1 BTC bought 20000 above the mid leaves 30000 of equity, 60000 of room.
  const t = new Tape(policySet({ rules: [] }));
  t.fill(t.approve(accepted('long', { qty: '1' })), mid(BTC).plus(20000));
  t.add(policySet({ rules: [{ rule: 'leverage', max: '2' }], equity_usd: { A: '50000' } }, 2));
  t.reject(accepted('more', { usd: '1000' }), 'LEVERAGE', /equity of 30000(\.\d+)? USD/);
  t.approve(accepted('less', { side: 'SELL', qty: '0.5' }));
  // A profit raises it.
  const p = new Tape(policySet({ rules: [] }));
  p.fill(p.approve(accepted('long', { qty: '1' })), mid(BTC).minus(20000));
  p.add(policySet({ rules: [{ rule: 'leverage', max: '2' }], equity_usd: { A: '50000' } }, 2));
  p.approve(accepted('more', { usd: '70000' }));
});

test('max_open_orders: approvals count until their orders finish', () => {
  ruleCase({
    rule: { rule: 'max_open_orders', limit: 1 },
    before: (t) => void t.approve(accepted('open', { ts: at(T0, -1000) })),
    pass: { account: 'B' },
    breach: {},
    code: 'MAX_OPEN_ORDERS',
    reason: /account:A has 1 open orders, at its limit of 1/,
  });
  const t = new Tape(policySet({ rules: [{ rule: 'max_open_orders', limit: 2 }] }));
  const a1 = t.approve(accepted('o1'));
  const a2 = t.approve(accepted('o2'));
  // B's open orders are its own.
  t.approve(accepted('o3', { account: 'B' }));
  t.reject(accepted('o4'), 'MAX_OPEN_ORDERS', /account:A has 2 open orders/);
  // Routed and partly filled: still open.
  const r1 = routed(a1);
  t.add(r1, filled(r1, '0.01', a1.data.intent.ref_price));
  t.reject(accepted('o5'), 'MAX_OPEN_ORDERS');
  // Its remainder canceled: finished.
  t.add(canceled(r1));
  const a6 = t.approve(accepted('o6'));
  // Filled whole, or rejected by the venue: finished.
  t.fill(a2);
  t.approve(accepted('o7'));
  const r6 = routed(a6);
  t.add(r6, venueRejected(r6));
  t.approve(accepted('o8'));
  t.reject(accepted('o9'), 'MAX_OPEN_ORDERS');
});

test('max_open_orders scoped to a strategy counts that strategy', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'max_open_orders', limit: 1, strategy: 'S' }] }));
  t.approve(accepted('s1'));
  t.approve(accepted('x1', { strategy: 'X' }));
  t.reject(accepted('s2', { account: 'B' }), 'MAX_OPEN_ORDERS', /strategy:S has 1 open orders, at its limit of 1/);
});

test('max_open_orders scoped to an instrument counts the open orders on it', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'max_open_orders', limit: 1, instrument: ETH }] }));
  t.approve(accepted('btc'));
  t.approve(accepted('eth1', { instrument: ETH }));
  t.reject(accepted('eth2', { instrument: ETH }), 'MAX_OPEN_ORDERS', /1 open orders/);
});

// ---- per strategy and global --------------------------------------------------------------

test('daily_notional: approved notional of the UTC day against the cap', () => {
  ruleCase({
    rule: { rule: 'daily_notional', limit_usd: '25000' },
    before: (t) => void t.approve(accepted('early', { ts: '2026-01-02T00:00:00Z', usd: '20000' })),
    pass: { usd: '5000' },
    breach: { usd: '5000.01' },
    code: 'DAILY_NOTIONAL',
    reason: /global has used 20000 of its 25000 USD daily notional; this order adds 5000\.01 USD/,
  });
});

test('daily_notional resets at the UTC day of the intent time; rejected intents use none of it', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'daily_notional', limit_usd: '25000' }] }));
  t.approve(accepted('d1', { ts: '2026-01-02T23:59:59Z', usd: '20000' }));
  t.reject(accepted('d2', { ts: '2026-01-02T23:59:59.5Z', usd: '10000' }), 'DAILY_NOTIONAL');
  t.approve(accepted('d3', { ts: '2026-01-03T00:00:00Z', usd: '10000' }));
  t.approve(accepted('d4', { ts: '2026-01-03T08:00:00Z', usd: '15000' }));
  t.reject(accepted('d5', { ts: '2026-01-03T09:00:00Z', usd: '5' }), 'DAILY_NOTIONAL', /global has used 25000 of its 25000 USD/);
});

test('daily_notional per strategy and per account count only their own', () => {
  const t = new Tape(
    policySet({
      rules: [
        { rule: 'daily_notional', limit_usd: '15000', strategy: 'S' },
        { rule: 'daily_notional', limit_usd: '25000', account: 'B' },
      ],
    }),
  );
  t.approve(accepted('s1', { strategy: 'S', usd: '10000' }));
  t.approve(accepted('x1', { strategy: 'X', usd: '10000' }));
  t.reject(accepted('s2', { strategy: 'S', usd: '6000' }), 'DAILY_NOTIONAL', /strategy:S has used 10000 of its 15000 USD/);
  // B has used none of its own cap: A's intents are not B's.
  t.approve(accepted('b1', { account: 'B', strategy: 'X', usd: '20000' }));
  t.reject(accepted('b2', { account: 'B', strategy: 'X', usd: '6000' }), 'DAILY_NOTIONAL', /account:B has used 20000 of its 25000 USD/);
});

// ---- policy gates -------------------------------------------------------------------------

test('stop_loss_required: the strategies it names must give a stop loss', () => {
  ruleCase({
    rule: { rule: 'stop_loss_required', strategies: ['S'] },
    pass: { stop_loss: '60000' },
    breach: {},
    code: 'STOP_LOSS_REQUIRED',
    reason: /strategy S must give a stop_loss with every order/,
  });
  new Tape(policySet({ rules: [{ rule: 'stop_loss_required', strategies: ['S'] }] })).approve(accepted('other', { strategy: 'X' }));
});

test('strategy_allow: only the strategies listed trade', () => {
  ruleCase({
    rule: { rule: 'strategy_allow', strategies: ['S', 'T'] },
    pass: { strategy: 'T' },
    breach: { strategy: 'X' },
    code: 'STRATEGY_NOT_ALLOWED',
    reason: /strategy X is not on the strategy allow-list \(S, T\)/,
  });
});

test('restricted_instruments: by pair, by venue instrument, by asset', () => {
  ruleCase({
    rule: { rule: 'restricted_instruments', instruments: ['BTC/USDT'] },
    pass: { instrument: ETH },
    breach: {},
    code: 'RESTRICTED_INSTRUMENT',
    reason: /BTC\/USDT on BINANCE:BTCUSDT is restricted/,
  });
  const byAsset = new Tape(policySet({ rules: [{ rule: 'restricted_instruments', instruments: ['eth'] }] }));
  byAsset.reject(accepted('e', { instrument: ETH }), 'RESTRICTED_INSTRUMENT');
  byAsset.reject(accepted('ethbtc', { instrument: 'BINANCE:ETHBTC', qty: '1' }), 'RESTRICTED_INSTRUMENT');
  byAsset.approve(accepted('b'));
  // One venue's listing: a bare symbol goes to the other venues.
  const one = new Tape(policySet({ rules: [{ rule: 'restricted_instruments', instruments: [BTC] }] }));
  one.reject(accepted('b1'), 'RESTRICTED_INSTRUMENT', /on BINANCE:BTCUSDT is restricted/);
  const bare = one.approve(accepted('b2', { instrument: 'BTCUSDT' }));
  assert.deepEqual(bare.data.intent.venues, [OKX_BTC, 'KUCOIN:BTC-USDT']);
});

test('a restricted_instruments rule scoped to a venue restricts only there', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'restricted_instruments', instruments: ['BTC/USDT'], venue: 'OKX' }] }));
  t.approve(accepted('bin'));
  t.reject(accepted('okx', { instrument: OKX_BTC }), 'RESTRICTED_INSTRUMENT', /on OKX:BTC-USDT is restricted/);
  assert.deepEqual(t.approve(accepted('bare', { instrument: 'BTCUSDT' })).data.intent.venues, [BTC, 'KUCOIN:BTC-USDT']);
});

test('trading_window: days and hours of the venue in its time zone', () => {
  const window = { rule: 'trading_window', venue: 'BINANCE', time_zone: 'America/New_York', days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], open: '09:30', close: '16:00' };
  ruleCase({
    rule: window,
    // 10:00 and 05:00 in New York (EST, UTC-5).
    pass: { ts: '2026-01-02T15:00:00Z' },
    breach: { ts: T0 },
    code: 'OUTSIDE_TRADING_WINDOW',
    reason: /BINANCE:BTCUSDT outside its trading window \(MON,TUE,WED,THU,FRI 09:30–16:00 America\/New_York\) at 2026-01-02T10:00:00/,
  });
  const t = new Tape(policySet({ rules: [window] }));
  t.approve(accepted('open', { ts: '2026-01-02T14:30:00Z' }));
  t.reject(accepted('before-open', { ts: '2026-01-02T14:29:59Z' }), 'OUTSIDE_TRADING_WINDOW');
  t.approve(accepted('last-minute', { ts: '2026-01-02T20:59:59Z' }));
  t.reject(accepted('close', { ts: '2026-01-02T21:00:00Z' }), 'OUTSIDE_TRADING_WINDOW');
  t.reject(accepted('saturday', { ts: '2026-01-03T15:00:00Z' }), 'OUTSIDE_TRADING_WINDOW');
  // Summer time (EDT, UTC-4): 09:45 in New York is 13:45 UTC, which in winter is 08:45.
  t.approve(accepted('summer', { ts: '2026-07-01T13:45:00Z' }));
  t.reject(accepted('winter', { ts: '2026-01-07T13:45:00Z' }), 'OUTSIDE_TRADING_WINDOW');
  // Other venues are not in this window; a bare symbol goes to them.
  t.approve(accepted('okx', { instrument: OKX_BTC }));
  assert.deepEqual(t.approve(accepted('bare', { instrument: 'BTCUSDT' })).data.intent.venues, [OKX_BTC, 'KUCOIN:BTC-USDT']);
});

test('trading_window past midnight: open on the listed day, until the close the next morning', () => {
  // Friday 22:00 to Saturday 02:00 in Tokyo (UTC+9).
  const t = new Tape(policySet({ rules: [{ rule: 'trading_window', venue: 'BINANCE', time_zone: 'Asia/Tokyo', days: ['FRI'], open: '22:00', close: '02:00' }] }));
  t.approve(accepted('fri-22', { ts: '2026-01-02T13:00:00Z' }));
  t.approve(accepted('sat-0159', { ts: '2026-01-02T16:59:00Z' }));
  t.reject(accepted('sat-02', { ts: '2026-01-02T17:00:00Z' }), 'OUTSIDE_TRADING_WINDOW');
  t.reject(accepted('fri-2159', { ts: '2026-01-02T12:59:00Z' }), 'OUTSIDE_TRADING_WINDOW');
  // Friday 01:00 belongs to Thursday's night, which is not listed; Saturday 23:00 to Saturday's.
  t.reject(accepted('fri-01', { ts: '2026-01-01T16:00:00Z' }), 'OUTSIDE_TRADING_WINDOW');
  t.reject(accepted('sat-23', { ts: '2026-01-03T14:00:00Z' }), 'OUTSIDE_TRADING_WINDOW');
});

test('velocity: token buckets per strategy, driven by event time', () => {
  ruleCase({
    rule: { rule: 'velocity', per: 'strategy', max_per_second: 1 },
    before: (t) => void t.approve(accepted('first', { ts: at(T0, -200) })),
    pass: { strategy: 'X' },
    breach: {},
    code: 'VELOCITY',
    reason: /strategy S is at its limit of 1 orders per second/,
  });
  const t = new Tape(policySet({ rules: [{ rule: 'velocity', per: 'strategy', max_per_second: 2 }] }));
  t.approve(accepted('v1'));
  t.approve(accepted('v2', { account: 'B' }));
  t.reject(accepted('v3'), 'VELOCITY');
  // 0.4 s of event time refills 0.8 of a token, 0.5 s a whole one.
  t.reject(accepted('v4', { ts: at(T0, 400) }), 'VELOCITY');
  t.approve(accepted('v5', { ts: at(T0, 500) }));
  t.reject(accepted('v6', { ts: at(T0, 500) }), 'VELOCITY');
  // A bucket never holds more than its limit: after a long pause, two at once and no third.
  t.approve(accepted('v7', { ts: at(T0, 60_000) }));
  t.approve(accepted('v8', { ts: at(T0, 60_000) }));
  t.reject(accepted('v9', { ts: at(T0, 60_000) }), 'VELOCITY');
});

test('velocity: event time never runs backwards for a bucket', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'velocity', per: 'strategy', max_per_second: 2 }] }));
  t.approve(accepted('v1', { ts: at(T0, 1000) }));
  // A late intent (earlier event time) takes the second token, refilled from 1.0 s, not from 0.
  t.approve(accepted('late', { ts: T0 }));
  t.reject(accepted('v2', { ts: at(T0, 1400) }), 'VELOCITY');
  t.approve(accepted('v3', { ts: at(T0, 1500) }));
});

test('velocity per venue per minute and per account', () => {
  const perVenue = new Tape(policySet({ rules: [{ rule: 'velocity', per: 'venue', max_per_minute: 2 }] }));
  perVenue.approve(accepted('b1'));
  perVenue.approve(accepted('b2', { account: 'B', strategy: 'X', instrument: ETH }));
  perVenue.reject(accepted('b3', { ts: at(T0, 29_000) }), 'VELOCITY', /venue BINANCE is at its limit of 2 orders per minute/);
  perVenue.approve(accepted('o1', { instrument: OKX_BTC }));
  perVenue.approve(accepted('b4', { ts: at(T0, 30_000) }));
  const perAccount = new Tape(policySet({ rules: [{ rule: 'velocity', per: 'account', max_per_second: 1 }] }));
  perAccount.approve(accepted('a1'));
  perAccount.reject(accepted('a2', { strategy: 'X' }), 'VELOCITY', /account A is at its limit of 1 orders per second/);
  perAccount.approve(accepted('b1', { account: 'B' }));
});

test('velocity: a rejected intent takes no token', () => {
  const t = new Tape(
    policySet({
      rules: [
        { rule: 'velocity', per: 'strategy', max_per_second: 1 },
        { rule: 'max_order_notional', limit_usd: '20000' },
      ],
    }),
  );
  t.reject(accepted('big', { usd: '30000' }), 'MAX_ORDER_NOTIONAL');
  t.approve(accepted('ok'));
});

test('a velocity rule scoped to a strategy takes no token for other strategies', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'velocity', per: 'venue', max_per_second: 1, strategy: 'S' }] }));
  t.approve(accepted('x1', { strategy: 'X' }));
  t.approve(accepted('x2', { strategy: 'X' }));
  t.approve(accepted('s1'));
  t.reject(accepted('s2'), 'VELOCITY');
});

test('duplicate_guard: the same account, instrument, side and size within the window', () => {
  ruleCase({
    rule: { rule: 'duplicate_guard', window_ms: 5000 },
    before: (t) => void t.approve(accepted('first', { ts: at(T0, -1000), qty: '0.1' })),
    pass: { qty: '0.2' },
    breach: { qty: '0.1' },
    code: 'DUPLICATE_ORDER',
    reason: /the same order \(A BUY 0\.1 BTC on BINANCE:BTCUSDT\) was approved 1000 ms earlier, inside the 5000 ms duplicate window/,
  });
  const t = new Tape(policySet({ rules: [{ rule: 'duplicate_guard', window_ms: 5000 }] }));
  t.approve(accepted('d1', { qty: '0.1' }));
  t.approve(accepted('other-side', { qty: '0.1', side: 'SELL' }));
  t.approve(accepted('other-account', { qty: '0.1', account: 'B' }));
  t.approve(accepted('other-instrument', { qty: '0.1', instrument: OKX_BTC }));
  t.reject(accepted('d2', { qty: '0.1', ts: at(T0, 4999) }), 'DUPLICATE_ORDER');
  t.approve(accepted('d3', { qty: '0.1', ts: at(T0, 5000) }));
  // The window runs from the last approval.
  t.reject(accepted('d4', { qty: '0.1', ts: at(T0, 9000) }), 'DUPLICATE_ORDER', /approved 4000 ms earlier/);
});

test('duplicate_guard compares the size as given: the same notional a few seconds later is a duplicate', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'duplicate_guard', window_ms: 10_000 }] }));
  const first = t.approve(accepted('n1', { usd: '10000' }));
  const later = accepted('n2', { usd: '10000', ts: at(T0, 3000) });
  // The book moved, so the same notional buys another quantity.
  assert.notEqual(later.data.intent.qty, first.data.intent.qty);
  t.reject(later, 'DUPLICATE_ORDER', /the same order \(A BUY 10000 USDT on BINANCE:BTCUSDT\) was approved 3000 ms earlier/);
  t.approve(accepted('n3', { usd: '10001', ts: at(T0, 3000) }));
});

// ---- revise -------------------------------------------------------------------------------

/** The one event a command gives, which must be an approval. */
function approval(events: readonly RiskEvent[]): EventOf<'RiskApproved'> {
  const a = events.at(-1);
  assert.ok(a?.type === 'RiskApproved', `expected an approval, got ${a?.type}: ${JSON.stringify(a?.data)}`);
  return a;
}

test('revise: a size limit cuts the order to what it allows, floored to the lot, with both sizes recorded', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'max_order_notional', limit_usd: '20000', revise: true }] }));
  const intent = accepted('r1', { usd: '30000' });
  const a = approval(given(risk, ...t.log).when(assess(intent)).events);
  const i = intent.data.intent;
  assert.ok(a.data.revised);
  assert.equal(a.data.revised.from_qty, i.qty);
  assert.deepEqual(a.data.revised.codes, ['MAX_ORDER_NOTIONAL']);
  const to = dec(a.data.revised.to_qty);
  const unit = dec(i.notional_usd).div(dec(i.qty));
  assert.ok(to.mod(LOT).eq(0), `${fmt(to)} is on the lot`);
  assert.ok(to.times(unit).lte(20000), 'within the limit');
  assert.ok(to.plus(LOT).times(unit).gt(20000), 'the largest lot multiple within it');
  assert.equal(a.data.intent.qty, a.data.revised.to_qty);
  assert.deepEqual(a.data.intent.size, { type: 'quantity', value: a.data.revised.to_qty, ccy: 'BTC' });
  assert.ok(dec(a.data.intent.notional_usd).lte(20000));
  assert.equal(a.data.intent.notional, fmt(to.times(dec(i.ref_price))));
});

test('revise: the cut stays within a USD limit that sits a hair under a whole lot', () => {
  const price = mid(BTC);
  // Just under 0.30624 BTC's worth: 0.30624 rounds the quotient up to a whole lot; 0.30623 is within.
  const limit = fmt(dec('0.30624').times(price).minus(dec('0.00000000000000000001')));
  const a = new Tape(policySet({ rules: [{ rule: 'max_order_notional', limit_usd: limit, revise: true }] })).approve(accepted('edge', { qty: '1' }));
  assert.equal(a.data.intent.qty, '0.30623');
  assert.ok(dec(a.data.intent.notional_usd).lte(dec(limit)));
});

test('revise: the smallest of every revising limit wins, and each cutting rule is named', () => {
  const t = new Tape(policySet({ rules: [] }));
  t.fill(t.approve(accepted('held', { qty: '0.8' })));
  t.add(
    policySet(
      {
        rules: [
          { rule: 'max_order_notional', limit_usd: '30000', revise: true },
          { rule: 'position_limit', limit: '1', revise: true },
          { rule: 'max_order_qty', limit: '5', instrument: BTC, revise: true },
        ],
      },
      2,
    ),
  );
  const a = t.approve(accepted('r', { usd: '50000' }));
  assert.deepEqual(a.data.revised?.codes, ['MAX_ORDER_NOTIONAL', 'POSITION_LIMIT']);
  assert.equal(a.data.revised?.to_qty, '0.2');
  assert.equal(a.data.intent.qty, '0.2');
});

test('revise: a daily cap cuts to what is left of the day, a fat-finger guard to its share of the depth', () => {
  const daily = new Tape(policySet({ rules: [{ rule: 'daily_notional', limit_usd: '25000', revise: true }] }));
  daily.approve(accepted('d1', { usd: '20000' }));
  const left = daily.approve(accepted('d2', { usd: '10000' }));
  assert.deepEqual(left.data.revised?.codes, ['DAILY_NOTIONAL']);
  assert.ok(dec(left.data.intent.notional_usd).lte(5000) && dec(left.data.intent.notional_usd).gt(4999));
  const book = market.bookAt(BTC, isoToMicros(T0))!;
  const depth = book.asks.slice(0, 3).reduce((s, l) => s.plus(l.qty), ZERO);
  const ff = new Tape(policySet({ rules: [{ rule: 'fat_finger', max_share_of_depth: '0.1', levels: 3, revise: true }] }));
  assert.equal(ff.approve(accepted('f', { qty: '5' })).data.intent.qty, fmt(floorTo(depth.times('0.1'), LOT)));
});

test('revise: rejected when the cut falls below the venue minimum or the order_size minimum', () => {
  given(risk, policySet({ rules: [{ rule: 'position_limit', limit: '0.000005', revise: true }] }))
    .when(assess(accepted('tiny', { qty: '0.1' })))
    .thenRejected('POSITION_LIMIT', /POSITION_LIMIT: the limits allow 0\.000005 BTC, below BINANCE:BTCUSDT's minimum \(0\.00001 BTC, 5 USDT\) — cannot revise/);
  given(risk, policySet({ rules: [{ rule: 'max_order_notional', limit_usd: '4', revise: true }] }))
    .when(assess(accepted('min-notional', { qty: '0.1' })))
    .thenRejected('MAX_ORDER_NOTIONAL', /cannot revise/);
  given(
    risk,
    policySet({
      rules: [
        { rule: 'order_size', min_usd: '100' },
        { rule: 'max_order_notional', limit_usd: '50', revise: true },
      ],
    }),
  )
    .when(assess(accepted('min-usd', { usd: '30000' })))
    .thenRejected('MAX_ORDER_NOTIONAL', /cannot revise/);
  // Above the minimum, it revises.
  const a = new Tape(
    policySet({
      rules: [
        { rule: 'order_size', min_usd: '100' },
        { rule: 'max_order_notional', limit_usd: '150', revise: true },
      ],
    }),
  ).approve(accepted('ok', { usd: '30000' }));
  assert.ok(dec(a.data.intent.notional_usd).gte(100));
});

test('revise: a limit that does not revise judges the order as revised', () => {
  const rules = (limit: string) => [
    { rule: 'max_order_notional', limit_usd: '20000', revise: true },
    { rule: 'position_limit', limit },
  ];
  // 1 BTC is cut to about 0.3 by the notional limit; the position limit of 0.5 holds that.
  const a = new Tape(policySet({ rules: rules('0.5') })).approve(accepted('fits', { qty: '1' }));
  assert.deepEqual(a.data.revised?.codes, ['MAX_ORDER_NOTIONAL']);
  assert.ok(dec(a.data.intent.qty).lt(0.31));
  // A position limit of 0.2 does not: it rejects.
  new Tape(policySet({ rules: rules('0.2') })).reject(accepted('too-big', { qty: '1' }), 'POSITION_LIMIT', /exceeds the limit of 0\.2/);
});

test('revise and warn_only: a warning, not a cut', () => {
  given(risk, policySet({ rules: [{ rule: 'max_order_notional', limit_usd: '5000', revise: true, warn_only: true }] }))
    .when(assess(accepted('w')))
    .then({ type: 'RiskWarned', data: { code: 'MAX_ORDER_NOTIONAL' } }, { type: 'RiskApproved', data: { intent: { notional_usd: '10000' }, revised: undefined } });
});

// ---- scopes -------------------------------------------------------------------------------

test('a rule applies only where its account, strategy, instrument and venue match', () => {
  const cap = (scope: Record<string, string>) => new Tape(policySet({ rules: [{ rule: 'max_order_notional', limit_usd: '5000', ...scope }] }));
  const cases: [Record<string, string>, IntentSpec, IntentSpec][] = [
    [{ account: 'B' }, { account: 'B' }, { account: 'A' }],
    [{ strategy: 'X' }, { strategy: 'X' }, { strategy: 'S' }],
    [{ instrument: 'ETH/USDT' }, { instrument: ETH }, { instrument: BTC }],
    [{ instrument: ETH }, { instrument: ETH }, { instrument: 'KUCOIN:ETH-USDT' }],
    [{ instrument: 'eth' }, { instrument: 'BINANCE:ETHBTC', qty: '5' }, { instrument: BTC }],
    [{ venue: 'okx' }, { instrument: OKX_BTC }, { instrument: BTC }],
    [
      { account: 'B', venue: 'OKX' },
      { account: 'B', instrument: OKX_BTC },
      { account: 'A', instrument: OKX_BTC },
    ],
  ];
  for (const [scope, inside, outside] of cases) {
    const t = cap(scope);
    t.reject(accepted(`in-${JSON.stringify(scope)}`, { usd: '10000', ...inside }), 'MAX_ORDER_NOTIONAL');
    t.approve(accepted(`out-${JSON.stringify(scope)}`, { usd: '10000', ...outside }));
  }
});

test('an approval counts under the policy it was decided under, even when a restore reads a newer policy first', () => {
  const none = policySet({ rules: [] }, 1);
  const velocity = policySet({ rules: [{ rule: 'velocity', per: 'strategy', max_per_second: 1 }] }, 2);
  const [first] = given(risk, none).when(assess(accepted('i1'))).events;
  // As it happened: i1 approved under version 1 (no velocity rule), then version 2.
  given(risk, none, first, velocity)
    .when(assess(accepted('i2')))
    .then({ type: 'RiskApproved', data: { policy_version: 2 } });
  // As a restore reads it (exec.risk, then exec.router): the same.
  given(risk, none, velocity, first)
    .when(assess(accepted('i2')))
    .then({ type: 'RiskApproved', data: { policy_version: 2 } });
});

// ---- loss limits and trading states -------------------------------------------------------

test('daily_loss: a loss since the day started beyond the limit halts the scope by itself', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'daily_loss', limit_usd: '1000' }] }));
  const a = t.approve(accepted('l1', { qty: '1' }));
  // The day's first decision marks its PnL.
  assert.deepEqual(a.data.pnl_usd, { global: '0' });
  // Bought 1500 above the mark: 1500 lost.
  t.fill(a, mid(BTC).plus(1500));
  t.when(assess(accepted('l2', { ts: at(T0, 200) }))).then(
    {
      type: 'TradingStateChanged',
      event_id: 'l2/risk/state/global',
      data: { scope: 'global', from: 'ACTIVE', to: 'HALTED', by: 'DAILY_LOSS', reason: 'daily loss 1500 USD of global exceeds the limit of 1000 USD' },
    },
    { type: 'RiskRejected', data: { code: 'DAILY_LOSS', reason: /global is HALTED \(daily loss 1500 USD/, pnl_usd: { global: '-1500' } } },
  );
  assert.equal(t.state.standings.get('global')?.mode, 'HALTED');
  // HALTED: everything is rejected, a reducing order too, and the state does not move again.
  given(risk, ...t.log)
    .when(assess(accepted('l3', { ts: at(T0, 300), side: 'SELL', qty: '0.5' })))
    .then({
      type: 'RiskRejected',
      data: { code: 'HALTED', reason: /global is HALTED \(daily loss 1500 USD of global exceeds the limit of 1000 USD\): only an operator's resume clears it/ },
    });
  // Later that day, and the next: still halted (a latch, not a daily limit).
  t.reject(accepted('l4', { ts: '2026-01-02T18:00:00Z', account: 'B' }), 'HALTED');
  t.reject(accepted('l5', { ts: '2026-01-03T10:00:00Z', account: 'B' }), 'HALTED');
});

test("a loss-limit halt holds until an operator's resume, which counts the loss again from then", () => {
  const t = new Tape(policySet({ rules: [{ rule: 'daily_loss', limit_usd: '1000' }] }));
  t.fill(t.approve(accepted('l1', { qty: '1' })), mid(BTC).plus(1500));
  t.reject(accepted('l2'), 'DAILY_LOSS');
  t.when(operate(operator('resume', 'global', 'r1'))).then({
    type: 'TradingStateChanged',
    event_id: 'control/r1',
    data: { scope: 'global', from: 'HALTED', to: 'ACTIVE', by: 'operator:alice', reason: 'drill r1' },
  });
  const a = t.approve(accepted('l3', { qty: '0.1' }));
  assert.deepEqual(a.data.pnl_usd, { global: '-1500' });
  // Another 1001 lost since the resume halts it again.
  t.fill(a, mid(BTC).plus(10010));
  t.reject(accepted('l4'), 'DAILY_LOSS', /daily loss 1001 USD/);
});

test("daily_loss counts from the day's first decision, not from earlier days", () => {
  const t = new Tape(policySet({ rules: [{ rule: 'daily_loss', limit_usd: '1000' }] }));
  const day2 = '2026-01-03T10:00:00Z';
  // Day 1: 800 lost, flat again.
  const buy = t.approve(accepted('b1', { qty: '1' }));
  t.fill(buy, mid(BTC).plus(800));
  t.fill(t.approve(accepted('s1', { qty: '1', side: 'SELL' })), mid(BTC));
  // Day 2 starts at -800; another 800 lost is 800 that day.
  const b2 = t.approve(accepted('b2', { qty: '1', ts: day2 }));
  assert.deepEqual(b2.data.pnl_usd, { global: '-800' });
  t.fill(b2, mid(BTC, day2).plus(800));
  t.approve(accepted('b3', { ts: at(day2, 100) }));
});

test('drawdown: a fall from the peak of PnL beyond the limit moves the scope to REDUCING', () => {
  const t = new Tape(
    policySet({
      rules: [
        { rule: 'drawdown', limit_usd: '1000', then: 'REDUCING' },
        { rule: 'daily_loss', limit_usd: '1000' },
      ],
    }),
  );
  // +2000: 2 BTC bought 1000 under the mark.
  t.fill(t.approve(accepted('b1', { qty: '2' })), mid(BTC).minus(1000));
  const s1 = t.approve(accepted('s1', { qty: '1', side: 'SELL' }));
  assert.deepEqual(s1.data.pnl_usd, { global: '2000' });
  // Sold 1 at 1500 under its cost: -1500 realized, +1000 unrealized: -500 in all, 2500 below the peak.
  t.fill(s1, mid(BTC).minus(2500));
  t.when(assess(accepted('b2', { qty: '0.1' }))).then(
    {
      type: 'TradingStateChanged',
      data: { scope: 'global', from: 'ACTIVE', to: 'REDUCING', by: 'DRAWDOWN', reason: 'drawdown 2500 USD from the peak of global exceeds the limit of 1000 USD' },
    },
    {
      type: 'RiskRejected',
      data: {
        code: 'REDUCE_ONLY',
        reason: /global is REDUCING \(drawdown 2500 USD .*\): only orders that reduce a position pass, and this BUY of 0\.1 does not reduce BTC\/USDT of A/,
      },
    },
  );
  // REDUCING: only what takes the position (1 BTC long) toward flat.
  t.reject(accepted('s2', { qty: '1.5', side: 'SELL' }), 'REDUCE_ONLY');
  t.reject(accepted('b-account', { account: 'B', qty: '0.1', side: 'SELL' }), 'REDUCE_ONLY');
  t.reject(accepted('eth', { instrument: ETH, qty: '0.1', side: 'SELL' }), 'REDUCE_ONLY');
  t.approve(accepted('s3', { qty: '0.5', side: 'SELL' }));
  // The open 0.5 counts: 0.5 more would close it, 0.6 would cross to short.
  t.reject(accepted('s4', { qty: '0.6', side: 'SELL' }), 'REDUCE_ONLY');
  t.approve(accepted('s5', { qty: '0.5', side: 'SELL', instrument: OKX_BTC }));
});

test('loss limits per strategy and per account move only their scope; warn_only only warns', () => {
  const setup = (rule: Rule) => {
    const t = new Tape(policySet({ rules: [rule] }));
    t.fill(t.approve(accepted('l1', { qty: '1' })), mid(BTC).plus(1500));
    return t;
  };
  const byStrategy = setup({ rule: 'daily_loss', limit_usd: '1000', strategy: 'S' });
  byStrategy
    .when(assess(accepted('l2')))
    .then({ type: 'TradingStateChanged', data: { scope: 'strategy:S', to: 'HALTED' } }, { type: 'RiskRejected', data: { code: 'DAILY_LOSS' } });
  byStrategy.approve(accepted('x', { strategy: 'X' }));
  const byAccount = setup({ rule: 'drawdown', limit_usd: '1000', account: 'A' });
  byAccount.when(assess(accepted('l2', { strategy: 'X' }))).then({ type: 'TradingStateChanged', data: { scope: 'account:A', to: 'HALTED' } }, { type: 'RiskRejected' });
  byAccount.approve(accepted('b', { account: 'B' }));
  const warned = setup({ rule: 'daily_loss', limit_usd: '1000', warn_only: true });
  warned
    .when(assess(accepted('l2')))
    .then({ type: 'RiskWarned', data: { code: 'DAILY_LOSS', reason: 'daily loss 1500 USD of global exceeds the limit of 1000 USD' } }, { type: 'RiskApproved' });
  assert.equal(warned.state.standings.size, 0);
});

test('the halt latch of the policy rejects every intent; cancels still pass, amends do not', () => {
  const t = new Tape(policySet({ halted: true }));
  t.reject(accepted('h1'), 'HALTED', /the policy in force sets the halt latch/);
  t.reject(accepted('h2', { side: 'SELL', account: 'B' }), 'HALTED');
  const change = (kind: 'cancel' | 'amend') =>
    ({
      kind: 'change',
      request: makeEvent(
        'OrderChangeRequested',
        `c-${kind}/accepted`,
        { intent_id: `c-${kind}`, account: 'A', strategy: 'S', ts: T0, causation: 'exec.intents/0/1' },
        { request: { kind, target_intent_id: 'h1', labels: {}, ...(kind === 'amend' ? { qty: '0.1' } : {}) } },
      ),
    }) as const;
  given(risk, ...t.log)
    .when(change('cancel'))
    .then({ type: 'OrderChangeApproved', data: { request: { kind: 'cancel' } } });
  given(risk, ...t.log)
    .when(change('amend'))
    .thenRejected('HALTED');
  // A policy without the latch lifts it.
  t.add(policySet({ halted: false }, 2));
  t.approve(accepted('h3'));
});

// ---- operator commands --------------------------------------------------------------------

test('operator halt, reduce and resume, per scope; a command is acted on once', () => {
  const t = new Tape(policySet({ rules: [] }));
  t.fill(t.approve(accepted('long', { qty: '1' })));
  t.when(operate(operator('halt', 'global', 'h1'))).then({
    type: 'TradingStateChanged',
    event_id: 'control/h1',
    data: { scope: 'global', from: 'ACTIVE', to: 'HALTED', by: 'operator:alice', reason: 'drill h1' },
  });
  t.reject(accepted('g1', { account: 'B' }), 'HALTED', /global is HALTED \(drill h1\): only an operator's resume clears it/);
  t.reject(accepted('g2', { side: 'SELL', qty: '0.5' }), 'HALTED');
  // The same command again (another partition's copy, a replay): nothing.
  given(risk, ...t.log)
    .when(operate(operator('halt', 'global', 'h1')))
    .thenNothing();
  given(risk, ...t.log)
    .when(operate(operator('resume', 'global', 'h1')))
    .thenNothing();
  t.when(operate(operator('resume', 'global', 'r1'))).then({ type: 'TradingStateChanged', data: { scope: 'global', from: 'HALTED', to: 'ACTIVE' } });
  t.approve(accepted('g3'));

  t.when(operate(operator('halt', 'account:B', 'h2'))).then({ type: 'TradingStateChanged', data: { scope: 'account:B', to: 'HALTED' } });
  t.reject(accepted('b1', { account: 'B' }), 'HALTED', /account:B is HALTED/);
  t.approve(accepted('a1', { ts: at(T0, 1) }));
  t.when(operate(operator('halt', 'strategy:X', 'h3'))).then({ type: 'TradingStateChanged', data: { scope: 'strategy:X', to: 'HALTED' } });
  t.reject(accepted('x1', { strategy: 'X' }), 'HALTED', /strategy:X is HALTED/);
  t.approve(accepted('s1', { ts: at(T0, 2) }));

  t.when(operate(operator('reduce', 'account:A', 'd1'))).then({ type: 'TradingStateChanged', data: { scope: 'account:A', from: 'ACTIVE', to: 'REDUCING' } });
  t.reject(accepted('a2', { ts: at(T0, 3) }), 'REDUCE_ONLY', /account:A is REDUCING \(drill d1\)/);
  t.approve(accepted('a3', { side: 'SELL', qty: '0.2' }));
  t.when(operate(operator('resume', 'account:A', 'r2'))).then({ type: 'TradingStateChanged', data: { scope: 'account:A', from: 'REDUCING', to: 'ACTIVE' } });
  t.approve(accepted('a4', { ts: at(T0, 4) }));
  // The other scopes are as they were.
  t.reject(accepted('b2', { account: 'B' }), 'HALTED');
});

// ---- flatten ------------------------------------------------------------------------------

/** A long 1 BTC (strategy S) and short 10 ETH (strategy X); B long 0.5 BTC. */
function book(rules: Rule[] = []): Tape {
  const t = new Tape(policySet({ rules: [] }));
  t.fill(t.approve(accepted('a-btc', { qty: '1' })));
  t.fill(t.approve(accepted('a-eth', { qty: '10', side: 'SELL', instrument: ETH, strategy: 'X' })));
  t.fill(t.approve(accepted('b-btc', { qty: '0.5', account: 'B' })));
  t.add(policySet({ rules }, 2));
  return t;
}

const closingId = (f: string, account: string, instrument: string) => `flatten/${f}/${account}/${instrument}`;

test('flatten: one closing intent per position of the scope, and a completion once their orders end', () => {
  const t = book();
  const [, btc, eth] = t.when(operate(operator('flatten', 'account:A', 'f1'))).then(
    {
      type: 'FlattenStarted',
      event_id: 'flatten/f1',
      data: {
        flatten_id: 'f1',
        scope: 'account:A',
        break_glass: false,
        operator: 'alice',
        reason: 'drill f1',
        closing: [
          { intent_id: closingId('f1', 'A', BTC), account: 'A', instrument_id: BTC, side: 'SELL', qty: '1' },
          { intent_id: closingId('f1', 'A', ETH), account: 'A', instrument_id: ETH, side: 'BUY', qty: '10' },
        ],
      },
    },
    { type: 'RiskApproved', intent_id: closingId('f1', 'A', BTC), data: { flatten_id: 'f1', policy_version: 2, intent: { side: 'SELL', qty: '1', order_type: 'MARKET' } } },
    { type: 'RiskApproved', intent_id: closingId('f1', 'A', ETH), data: { flatten_id: 'f1', intent: { side: 'BUY', qty: '10' } } },
  );
  assert.ok(btc.type === 'RiskApproved' && eth.type === 'RiskApproved');
  const settle = { kind: 'settle', ts: at(T0, 1000) } as const;
  given(risk, ...t.log)
    .when(settle)
    .thenNothing();
  // BTC closes whole; ETH fills 4 and the rest is canceled.
  t.fill(btc);
  given(risk, ...t.log)
    .when(settle)
    .thenNothing();
  const o = routed(eth);
  t.add(o, filled(o, '4', eth.data.intent.ref_price), canceled(o));
  t.when(settle).then({
    type: 'FlattenCompleted',
    event_id: 'flatten/f1/done',
    data: {
      flatten_id: 'f1',
      closed: [
        { intent_id: closingId('f1', 'A', BTC), instrument_id: BTC, qty: '1' },
        { intent_id: closingId('f1', 'A', ETH), instrument_id: ETH, qty: '4' },
      ],
      failed: [{ intent_id: closingId('f1', 'A', ETH), instrument_id: ETH, reason: 'the closing order ended with 4 filled' }],
    },
  });
  // Reported once; the positions are what the fills left.
  given(risk, ...t.log)
    .when(settle)
    .thenNothing();
  assert.equal(fmt(t.state.positions.positions.get('A')!.get(BTC)!.qty), '0');
  assert.equal(fmt(t.state.positions.positions.get('A')!.get(ETH)!.qty), '-6');
  // The same command again: nothing.
  given(risk, ...t.log)
    .when(operate(operator('flatten', 'account:A', 'f1')))
    .thenNothing();
});

test('a closing order the venue rejects is a failure of the flatten, with the reason', () => {
  const t = book();
  const [, btc] = t.when(operate(operator('flatten', 'account:B', 'f2'))).events;
  assert.ok(btc.type === 'RiskApproved');
  const o = routed(btc);
  t.add(o, venueRejected(o));
  t.when({ kind: 'settle', ts: T0 }).then({
    type: 'FlattenCompleted',
    data: { flatten_id: 'f2', closed: [], failed: [{ intent_id: closingId('f2', 'B', BTC), instrument_id: BTC, reason: 'rejected by the venue: insufficient balance' }] },
  });
});

test('flatten of a strategy closes that strategy’s positions only', () => {
  const t = book();
  t.when(operate(operator('flatten', 'strategy:X', 'f3'))).then(
    { type: 'FlattenStarted', data: { closing: [{ intent_id: closingId('f3', 'A', ETH), account: 'A', instrument_id: ETH, side: 'BUY', qty: '10' }] } },
    { type: 'RiskApproved', data: { flatten_id: 'f3', intent: { strategy: 'X', account: 'A' } } },
  );
});

test('a flatten whose closing intents are all rejected completes at once; one with nothing to close too', () => {
  const t = book();
  t.when(operate(operator('halt', 'global', 'h')));
  const events = t.when(operate(operator('flatten', 'global', 'f4'))).events;
  assert.deepEqual(
    events.map((e) => [e.type, e.type === 'RiskRejected' ? e.data.code : '']),
    [
      ['FlattenStarted', ''],
      ['RiskRejected', 'HALTED'],
      ['RiskRejected', 'HALTED'],
      ['RiskRejected', 'HALTED'],
      ['FlattenCompleted', ''],
    ],
  );
  const done = events.at(-1)!;
  assert.ok(done.type === 'FlattenCompleted');
  assert.deepEqual(done.data.closed, []);
  assert.deepEqual(
    done.data.failed.map((f) => f.intent_id),
    [closingId('f4', 'A', BTC), closingId('f4', 'A', ETH), closingId('f4', 'B', BTC)],
  );
  assert.match(done.data.failed[0].reason, /^HALTED: global is HALTED/);
  for (const e of events.slice(1, 4)) assert.equal(e.type === 'RiskRejected' && e.data.flatten_id, 'f4');
  assert.equal(t.state.flattens.size, 0);
  new Tape(policySet({ rules: [] }))
    .when(operate(operator('flatten', 'account:Z', 'f5')))
    .then({ type: 'FlattenStarted', data: { closing: [] } }, { type: 'FlattenCompleted', data: { flatten_id: 'f5', closed: [], failed: [] } });
});

test('break-glass flatten passes a HALTED scope and every rule but the safety ones', () => {
  const rules: Rule[] = [
    { rule: 'max_order_notional', limit_usd: '100' },
    { rule: 'strategy_allow', strategies: [] },
    { rule: 'max_order_qty', limit: '0.4', instrument: BTC, revise: true },
  ];
  const t = book(rules);
  t.when(operate(operator('halt', 'global', 'h')));
  const events = t
    .when(operate(operator('break_glass_flatten', 'account:A', 'bg')))
    .then(
      { type: 'FlattenStarted', data: { break_glass: true } },
      { type: 'RiskApproved', data: { flatten_id: 'bg', revised: { from_qty: '1', to_qty: '0.4', codes: ['MAX_ORDER_QTY'] }, intent: { qty: '0.4' } } },
      { type: 'RiskApproved', data: { flatten_id: 'bg', intent: { qty: '10' } } },
    );
  assert.equal(events.length, 3);
  // The fat-finger guard still stops a closing order the book cannot take.
  const ff = book([{ rule: 'fat_finger', max_share_of_depth: '0.01', levels: 1 }]);
  ff.when(operate(operator('halt', 'global', 'h')));
  const [, ...decided] = ff.when(operate(operator('break_glass_flatten', 'account:A', 'bg2'))).events;
  assert.deepEqual(
    decided.map((e) => [e.type, e.type === 'RiskRejected' ? e.data.code : '']),
    [
      ['RiskRejected', 'FAT_FINGER'],
      ['RiskRejected', 'FAT_FINGER'],
      ['FlattenCompleted', ''],
    ],
  );
});

test("a flatten's closing intents are decided one after another: a limit tripped by the first moves the state once", () => {
  const t = book([{ rule: 'daily_loss', limit_usd: '1000', then: 'REDUCING', account: 'A' }]);
  // 1500 lost on another BTC of A's.
  t.fill(t.approve(accepted('loss', { qty: '1' })), mid(BTC).plus(1500));
  t.when(operate(operator('flatten', 'account:A', 'f6'))).then(
    { type: 'FlattenStarted' },
    { type: 'TradingStateChanged', data: { scope: 'account:A', to: 'REDUCING' } },
    { type: 'RiskApproved', data: { intent: { qty: '2', side: 'SELL' } } },
    { type: 'RiskApproved', data: { intent: { qty: '10', side: 'BUY' } } },
  );
});

// ---- outcomes: simulation only, and what every decision names ------------------------------

test('simulate_only: the strategies and accounts named go to the simulator', () => {
  const t = new Tape(policySet({ simulate_only: { strategies: ['paper'], accounts: ['B'] } }));
  given(risk, ...t.log)
    .when(assess(accepted('p', { strategy: 'paper', env: 'prod' })))
    .then({ type: 'RiskApproved', data: { intent: { env: 'sim' }, simulated: 'the policy sends strategy paper to simulation only' } });
  given(risk, ...t.log)
    .when(assess(accepted('b', { account: 'B', env: 'staging' })))
    .then({ type: 'RiskApproved', data: { intent: { env: 'sim' }, simulated: 'the policy sends account B to simulation only' } });
  given(risk, ...t.log)
    .when(assess(accepted('already', { strategy: 'paper', env: 'sim' })))
    .then({ type: 'RiskApproved', data: { intent: { env: 'sim' }, simulated: undefined } });
  given(risk, ...t.log)
    .when(assess(accepted('live', { env: 'prod' })))
    .then({ type: 'RiskApproved', data: { intent: { env: 'prod' }, simulated: undefined } });
});

test('every decision names the policy version and the rule-set hash it was made under', () => {
  const first = { rules: [{ rule: 'max_order_notional', limit_usd: '20000' }] };
  const second = { rules: [{ rule: 'max_order_notional', limit_usd: '5000' }], equity_usd: { A: '1' } };
  const t = new Tape(policySet(first, 1), policySet(second, 3));
  const hash = ruleSetHash(policySet(second, 3).data.policy);
  assert.notEqual(hash, ruleSetHash(policySet(first).data.policy));
  const no = t.reject(accepted('n'), 'MAX_ORDER_NOTIONAL');
  const yes = t.approve(accepted('y', { usd: '5000' }));
  for (const d of [no, yes]) {
    assert.equal(d.data.policy_version, 3);
    assert.equal(d.data.rule_set_hash, hash);
  }
  // Before any policy: version 0 and the default policy's hash.
  const v0 = new Tape().approve(accepted('d'));
  assert.equal(v0.data.policy_version, 0);
  assert.equal(v0.data.rule_set_hash, new Tape().state.hash);
  // A flatten's decisions too.
  const f = book([{ rule: 'max_order_notional', limit_usd: '1' }]);
  for (const e of f.when(operate(operator('flatten', 'global', 'fv'))).events) {
    if (e.type === 'RiskApproved' || e.type === 'RiskRejected') {
      assert.equal(e.data.policy_version, 2);
      assert.equal(e.data.rule_set_hash, f.state.hash);
    }
  }
});

test('a daily_notional rule scoped to an instrument counts only what it covers', () => {
  const t = new Tape(policySet({ rules: [{ rule: 'daily_notional', limit_usd: '15000', instrument: 'eth/usdt', account: 'A' }] }));
  t.approve(accepted('btc', { usd: '20000' }));
  t.approve(accepted('eth-b', { usd: '20000', instrument: ETH, account: 'B' }));
  t.approve(accepted('eth1', { usd: '10000', instrument: ETH }));
  t.reject(accepted('eth2', { usd: '6000', instrument: 'KUCOIN:ETH-USDT' }), 'DAILY_NOTIONAL', /account:A\|instrument:ETH\/USDT has used 10000 of its 15000 USD/);
});
