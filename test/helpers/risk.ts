// Building blocks for the risk decider's tests: intents as the normalizer accepts them, policies
// put in force, the gateway's order events for an approval (routed, filled, canceled), operator
// commands, and a tape that decides each command on the fold of everything before it.
import assert from 'node:assert/strict';
import { dec, fmt, type Dec } from '../../src/domain/decimal.js';
import { makeEvent } from '../../src/domain/envelope.js';
import type { EventOf, RiskPolicy } from '../../src/domain/events.js';
import { isoToMicros, microsToIso } from '../../src/domain/time.js';
import { midPrice } from '../../src/market/book.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import type { MarketData } from '../../src/market/types.js';
import { normalizer } from '../../src/normalizer/decide.js';
import { risk, type RiskCommand, type RiskEvent } from '../../src/risk/decide.js';
import { parsePolicy } from '../../src/risk/policy.js';
import type { RiskFact, RiskState } from '../../src/risk/state.js';
import { router } from '../../src/router/decide.js';
import { given, type When } from './decider.js';

export const market = createSyntheticMarket({ seed: 1 });
/** A Friday, 05:00 in New York, 19:00 in Tokyo. */
export const T0 = '2026-01-02T10:00:00Z';
export const BTC = 'BINANCE:BTCUSDT';

/** `iso` moved by `ms` milliseconds. */
export const at = (iso: string, ms: number): string => microsToIso(isoToMicros(iso) + ms * 1000);

/** The mid of an instrument's book at `ts`. */
export function mid(instrumentId: string, ts = T0, m: MarketData = market): Dec {
  const p = midPrice(m.bookAt(instrumentId, isoToMicros(ts)));
  assert.ok(p, `no book for ${instrumentId} at ${ts}`);
  return p;
}

export interface IntentSpec {
  ts?: string;
  account?: string;
  strategy?: string;
  instrument?: string;
  side?: 'BUY' | 'SELL';
  /** Quote notional (USDT); the default is 10000. */
  usd?: string;
  /** Base quantity, instead of a notional. */
  qty?: string;
  limit_price?: string;
  stop_loss?: string;
  env?: 'sim' | 'staging' | 'prod';
}

/** An intent as the normalizer accepted it. */
export function accepted(id: string, s: IntentSpec = {}): EventOf<'IntentAccepted'> {
  const constraints: Record<string, string> = {};
  if (s.limit_price !== undefined) constraints.limit_price = s.limit_price;
  if (s.stop_loss !== undefined) constraints.stop_loss = s.stop_loss;
  const raw = {
    intent_id: id,
    ts: s.ts ?? T0,
    account: s.account ?? 'A',
    instrument_id: s.instrument ?? BTC,
    side: s.side ?? 'BUY',
    size: s.qty !== undefined ? { type: 'quantity', value: s.qty } : { type: 'notional', value: s.usd ?? '10000' },
    constraints,
    labels: { strategy: s.strategy ?? 'S' },
    env: s.env ?? 'sim',
  };
  const [e] = normalizer.decide(
    { raw: Buffer.from(JSON.stringify(raw)), source: { topic: 'exec.intents', partition: 0, offset: 0 }, arrived_us: 0, market },
    normalizer.initialState(),
  );
  assert.ok(e.type === 'IntentAccepted', `the normalizer did not accept ${id}: ${JSON.stringify(e.data)}`);
  return e;
}

/** A policy (as JSON, defaults applied by the schema) put in force as `version`. */
export function policySet(policy: unknown, version = 1): EventOf<'RiskPolicySet'> {
  const p: RiskPolicy = parsePolicy(policy);
  return makeEvent('RiskPolicySet', `policy/${version}`, { intent_id: '', account: '', strategy: '', ts: T0, causation: 'operator' }, { version, policy: p });
}

export const assess = (intent: EventOf<'IntentAccepted'>, m: MarketData = market): RiskCommand => ({ kind: 'assess', intent, market: m });

/** The order the router makes of an approval (whole on one venue: risk's tests follow one order per intent). */
export function routed(a: EventOf<'RiskApproved'>): EventOf<'OrderRouted'> {
  const events = router.decide({ approved: a, market, settings: { latency_bps_per_ms: '0', split: false } }, router.initialState());
  const e = events.find((x) => x.type === 'OrderRouted');
  assert.ok(e?.type === 'OrderRouted');
  return e;
}

const seedOf = (o: EventOf<'OrderRouted'>, ts: string) => ({ intent_id: o.intent_id, account: o.account, strategy: o.strategy, ts, causation: o.event_id });

/** A fill of a routed order: `qty` at `price`, `cum` filled in all (default: qty, FILLED when that is the order's quantity). */
export function filled(o: EventOf<'OrderRouted'>, qty: string, price: string | Dec, opts: { cum?: string; ts?: string; trade?: string } = {}): EventOf<'OrderFilled'> {
  const order = o.data.order;
  const cum = opts.cum ?? qty;
  const ts = opts.ts ?? o.ts;
  const trade = opts.trade ?? `t-${cum}`;
  const px = typeof price === 'string' ? price : fmt(price);
  return makeEvent('OrderFilled', `${order.client_order_id}/fill/${trade}`, seedOf(o, ts), {
    client_order_id: order.client_order_id,
    fill: {
      fingerprint: `${order.client_order_id}/${trade}`,
      venue: order.venue,
      venue_order_id: `v-${order.client_order_id}`,
      trade_id: trade,
      qty,
      price: px,
      fee: '0',
      fee_ccy: 'USDT',
      liquidity: 'TAKER',
      ts,
    },
    cum_qty: cum,
    avg_price: px,
    status: dec(cum).gte(dec(order.qty)) ? 'FILLED' : 'PARTIALLY_FILLED',
  });
}

export function canceled(o: EventOf<'OrderRouted'>, ts = o.ts): EventOf<'OrderCanceled'> {
  return makeEvent('OrderCanceled', `${o.data.order.client_order_id}/canceled`, seedOf(o, ts), { client_order_id: o.data.order.client_order_id, reason: 'IOC remainder' });
}

export function venueRejected(o: EventOf<'OrderRouted'>, ts = o.ts): EventOf<'OrderRejected'> {
  return makeEvent('OrderRejected', `${o.data.order.client_order_id}/rejected`, seedOf(o, ts), {
    client_order_id: o.data.order.client_order_id,
    code: '-2010',
    reason: 'insufficient balance',
  });
}

export type OperatorVerb = EventOf<'OperatorCommand'>['data']['command'];

export function operator(command: OperatorVerb, scope: string, id: string, ts = T0): EventOf<'OperatorCommand'> {
  return makeEvent(
    'OperatorCommand',
    `control/${id}`,
    { intent_id: '', account: '', strategy: '', ts, causation: 'exec.control/0/0' },
    {
      command_id: id,
      command,
      scope,
      operator: 'alice',
      reason: `drill ${id}`,
    },
  );
}

export const operate = (command: EventOf<'OperatorCommand'>): RiskCommand => ({ kind: 'operator', command, market });

/**
 * A risk log under construction: each command is decided (through `given`, so every step holds
 * the decider to its contract) on the fold of everything logged before, and its events logged.
 */
export class Tape {
  readonly log: RiskFact[];

  constructor(...facts: RiskFact[]) {
    this.log = [...facts];
  }

  get state(): RiskState {
    return given(risk, ...this.log).state;
  }

  add(...facts: RiskFact[]): this {
    this.log.push(...facts);
    return this;
  }

  when(command: RiskCommand): When<RiskState, RiskEvent> {
    const w = given(risk, ...this.log).when(command);
    this.log.push(...w.events);
    // The stage folds an operator command once it has decided on it (its dedupe).
    if (command.kind === 'operator') this.log.push(command.command);
    return w;
  }

  /** The verdict on an intent (its last event). */
  assess(intent: EventOf<'IntentAccepted'>): EventOf<'RiskApproved' | 'RiskRejected'> {
    const v = this.when(assess(intent)).events.at(-1);
    assert.ok(v && (v.type === 'RiskApproved' || v.type === 'RiskRejected'), `no verdict on ${intent.intent_id}`);
    return v;
  }

  /** An intent that must be approved. */
  approve(intent: EventOf<'IntentAccepted'>): EventOf<'RiskApproved'> {
    const v = this.assess(intent);
    assert.ok(v.type === 'RiskApproved', `${intent.intent_id} was rejected: ${v.type === 'RiskRejected' ? `${v.data.code}: ${v.data.reason}` : ''}`);
    return v;
  }

  /** An intent that must be rejected with `code`. */
  reject(intent: EventOf<'IntentAccepted'>, code: string, reason?: RegExp): EventOf<'RiskRejected'> {
    const v = this.assess(intent);
    assert.ok(v.type === 'RiskRejected', `${intent.intent_id} was approved, expected ${code}`);
    assert.equal(v.data.code, code, v.data.reason);
    if (reason) assert.match(v.data.reason, reason);
    return v;
  }

  /** Routes an approval and fills it whole at `price` (default: its reference price). */
  fill(a: EventOf<'RiskApproved'>, price: string | Dec = a.data.intent.ref_price): EventOf<'OrderRouted'> {
    const o = routed(a);
    this.add(o, filled(o, o.data.order.qty, price));
    return o;
  }
}
