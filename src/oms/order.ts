// The OMS decider: one state machine per order. Venue reports come in, events go out;
// evolve folds those events back into state. Pure: no clock, no I/O, no randomness.
import { dec, fmt, isDecimalString, ZERO, type Dec } from '../domain/decimal.js';
import type { InPlaceDecider } from '../domain/decider.js';
import type { AnomalyKind, Event, EventOf, Fill, Order, OrderStatus, OrderStatusFact, VenueReport } from '../domain/events.js';
import { TERMINAL_STATUSES } from '../domain/events.js';
import { fillFingerprint } from '../domain/ids.js';

/**
 * Legal status transitions. A TRADE, CANCELED or EXPIRED straight after SUBMITTED is an implicit
 * ack (venues may report a fill before the ack, or answer an IOC order that found nothing with
 * "expired" and no ack at all). Terminal statuses accept nothing.
 *   NEW              -> SUBMITTED | REJECTED (refused before it was sent, e.g. no gateway)
 *   SUBMITTED        -> UNKNOWN | ACKED | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED | REJECTED
 *   UNKNOWN          -> SUBMITTED (the venue has no such order: sent again) | what SUBMITTED may reach
 *   ACKED            -> PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
 *   PARTIALLY_FILLED -> PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
 *   FILLED, CANCELED, REJECTED, EXPIRED -> (none)
 */
export const LEGAL_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  NEW: ['SUBMITTED', 'REJECTED'],
  SUBMITTED: ['UNKNOWN', 'ACKED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED'],
  UNKNOWN: ['SUBMITTED', 'ACKED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED'],
  ACKED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  FILLED: [],
  CANCELED: [],
  REJECTED: [],
  EXPIRED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return LEGAL_TRANSITIONS[from].includes(to);
}

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Live state of one order. Plain, JSON-serializable data; decimals are canonical strings. */
export interface OrderState {
  order: Order;
  status: OrderStatus;
  /** Cumulative filled base quantity; never above order.qty. */
  filled_qty: string;
  /** Σ qty × price of the fills: the average is derived from sums so it never drifts. */
  notional: string;
  /** notional / filled_qty, "0" before the first fill. */
  avg_price: string;
  /** Fees in fee_ccy (the first fill's fee currency). */
  fees: string;
  fee_ccy?: string;
  /** Fees charged in any other currency, by currency (venues may switch, e.g. to BNB). */
  other_fees?: Record<string, string>;
  venue_order_id?: string;
  /** Venue order ids the order had before an amend that replaced it (late fills may name them). */
  prior_venue_order_ids?: readonly string[];
  /** Fingerprints of applied fills, in order: the dedup memory. */
  fingerprints: readonly string[];
  fills: number;
  /** Event time of the last event applied. */
  ts: string;
}

/** Envelope fields the caller supplies; intent_id, account and strategy come from the order. */
export interface EnvelopeSeed {
  /** Deterministic base of the event ids: the same input must always give the same base. */
  event_id: string;
  /** Event id or log position this decision follows from. */
  causation: string;
  /** Wall-clock write time, supplied by the adapter (deciders have no clock). */
  recorded_at: string;
  /** Event time; when omitted, the venue report's ts (or the state's ts for submissions). */
  ts?: string;
}

/** What the OMS decides. */
export type OmsEvent = EventOf<
  'OrderSubmitted' | 'OrderUnknown' | 'OrderAcked' | 'OrderAmended' | 'OrderFilled' | 'OrderCanceled' | 'OrderRejected' | 'OrderExpired' | 'OrderAnomaly' | 'FillDuplicate'
>;

/** What an order's fold reads: any event (others leave it unchanged), or a status event known from its record headers. */
export type OrderFact = Event | OrderStatusFact;

export type OrderCommand =
  /** The gateway placed the order on its venue (recovered: the venue already had it), with the venue's reports so far. */
  | { kind: 'submitted'; recovered: boolean; reports: readonly VenueReport[]; envelope: EnvelopeSeed; latency_ms?: number }
  /** Reports that did not come from placing it: later venue messages, or the gateway's refusal of an order it never sent. */
  | { kind: 'reports'; reports: readonly VenueReport[]; envelope: EnvelopeSeed }
  /** The gateway sent the order and no answer came (timeout, 5xx, connection lost). */
  | { kind: 'no_answer'; reason: string; envelope: EnvelopeSeed };

/**
 * One order's state machine. The state is undefined until the order is routed. Adapters that own
 * their order states fold with `evolveInPlace`; `evolve` returns a new state.
 */
export const oms = {
  initialState: (): OrderState | undefined => undefined,
  /** Nothing is decided for an order not yet routed: there is no order to speak of. */
  decide(command: OrderCommand, state: OrderState | undefined): OmsEvent[] {
    if (state === undefined) return [];
    let s = state;
    const events: OmsEvent[] =
      command.kind === 'reports'
        ? []
        : decideSubmitted(s, command.envelope, command.kind === 'submitted' && command.recovered, command.kind === 'submitted' ? command.latency_ms : undefined);
    for (const e of events) s = evolveOrder(s, e);
    if (command.kind === 'no_answer') {
      if (s.status === 'SUBMITTED') events.push(unknown(s, command.envelope, command.reason));
      return events;
    }
    for (const e of decideReports(s, command.reports, command.envelope)) events.push(e);
    return events;
  },
  evolve,
  evolveInPlace(state: OrderState | undefined, event: OrderFact): OrderState | undefined {
    if (event.type === 'OrderRouted') return state ?? newOrder(event.data.order, event.ts);
    if (state !== undefined) evolveOrderInPlace(state, event);
    return state;
  },
} satisfies InPlaceDecider<OrderCommand, OrderState | undefined, OmsEvent, OrderFact>;

export function newOrder(order: Order, ts: string): OrderState {
  return { order, status: 'NEW', filled_qty: '0', notional: '0', avg_price: '0', fees: '0', fingerprints: [], fills: 0, ts };
}

// ---- evolve ----------------------------------------------------------------------------

/**
 * Apply one event. Events of other orders, other types, and facts that would break the
 * machine (illegal transition, repeated fingerprint, over-fill) leave the state unchanged,
 * so replaying a log twice equals replaying it once.
 */
export function evolve(state: OrderState | undefined, event: OrderFact): OrderState | undefined {
  if (event.type === 'OrderRouted') return state ?? newOrder(event.data.order, event.ts);
  if (state === undefined) return undefined;
  return evolveOrder(state, event);
}

/** evolve for a known order (never returns undefined): the same state when nothing changes, else a new one. */
export function evolveOrder(state: OrderState, event: OrderFact): OrderState {
  const next = { ...state };
  return evolveOrderInPlace(next, event) ? next : state;
}

/**
 * evolveOrder that updates `state` itself and says whether anything changed. For folds that own
 * their states (the projection view): no copy per event. Nested values are replaced, never
 * mutated, so a state copied shallowly before the call is not affected.
 */
export function evolveOrderInPlace(state: OrderState, event: OrderFact): boolean {
  if (!('client_order_id' in event.data) || event.data.client_order_id !== state.order.client_order_id) return false;
  switch (event.type) {
    case 'OrderSubmitted':
      return moveTo(state, 'SUBMITTED', event.ts);
    case 'OrderAcked':
      return moveTo(state, 'ACKED', event.ts, event.data.venue_order_id);
    case 'OrderUnknown':
      return moveTo(state, 'UNKNOWN', event.ts);
    case 'OrderAmended':
      return amendInPlace(state, event.data, event.ts);
    case 'OrderFilled':
      return applyFill(state, event.data.fill, event.ts, event.data);
    case 'OrderCanceled':
      return moveTo(state, 'CANCELED', event.ts);
    case 'OrderRejected':
      return moveTo(state, 'REJECTED', event.ts);
    case 'OrderExpired':
      return moveTo(state, 'EXPIRED', event.ts);
    default:
      return false; // anomalies and duplicates are record-only
  }
}

/** The order's new size and price; a new venue order id keeps the old one for late fills. */
function amendInPlace(state: OrderState, d: { venue_order_id: string; qty: string; limit_price?: string }, ts: string): boolean {
  if (isTerminal(state.status) || state.status === 'NEW') return false;
  if (state.venue_order_id !== undefined && state.venue_order_id !== d.venue_order_id) {
    state.prior_venue_order_ids = [...(state.prior_venue_order_ids ?? []), state.venue_order_id];
  }
  state.venue_order_id = d.venue_order_id;
  state.order = { ...state.order, qty: d.qty, ...(d.limit_price !== undefined ? { limit_price: d.limit_price } : {}) };
  state.ts = ts;
  return true;
}

/** The venue order id names this order: its current one, or one it had before an amend replaced it. */
function isOwnVenueOrderId(state: OrderState, id: string): boolean {
  return state.venue_order_id === undefined || state.venue_order_id === id || (state.prior_venue_order_ids?.includes(id) ?? false);
}

/** A status move in place, when legal; `venueOrderId` comes with OrderAcked. */
function moveTo(state: OrderState, to: OrderStatus, ts: string, venueOrderId?: string): boolean {
  if (!canTransition(state.status, to)) return false;
  state.status = to;
  state.ts = ts;
  if (venueOrderId !== undefined) state.venue_order_id = venueOrderId;
  return true;
}

interface FillMath {
  filled: Dec;
  notional: Dec;
  status: 'PARTIALLY_FILLED' | 'FILLED';
}

/** Cumulative figures after a fill, or why it cannot apply. */
function fillMath(state: OrderState, qty: Dec, price: Dec): FillMath | Fault {
  const filled = dec(state.filled_qty).plus(qty);
  const orderQty = dec(state.order.qty);
  if (filled.gt(orderQty)) return { kind: 'OVER_FILL', reason: `over-fill: cumulative ${fmt(filled)} would exceed order qty ${state.order.qty}` };
  const status = filled.eq(orderQty) ? 'FILLED' : 'PARTIALLY_FILLED';
  if (!canTransition(state.status, status)) return illegal(state.status, status);
  return { filled, notional: dec(state.notional).plus(qty.times(price)), status };
}

/** In place. `reported` carries the decider's cumulative figures: reused when they agree, to spare a division. */
function applyFill(state: OrderState, fill: Fill, ts: string, reported?: { cum_qty: string; avg_price: string }): boolean {
  if (state.fingerprints.includes(fill.fingerprint)) return false;
  if (!isOwnVenueOrderId(state, fill.venue_order_id)) return false;
  const qty = dec(fill.qty);
  if (qty.lte(0)) return false;
  const m = fillMath(state, qty, dec(fill.price));
  if ('kind' in m) return false;
  const filled = fmt(m.filled);
  fillInto(state, fill, m, filled, reported && reported.cum_qty === filled ? reported.avg_price : fmt(m.notional.div(m.filled)), ts);
  return true;
}

/** The state after a fill that passed every check, from its cumulative figures (a new state). */
function filledState(state: OrderState, fill: Fill, m: FillMath, filled: string, avgPrice: string, ts: string): OrderState {
  const next = { ...state };
  fillInto(next, fill, m, filled, avgPrice, ts);
  return next;
}

function fillInto(state: OrderState, fill: Fill, m: FillMath, filled: string, avgPrice: string, ts: string): void {
  addFee(state, fill.fee, fill.fee_ccy);
  state.status = m.status;
  state.filled_qty = filled;
  state.notional = fmt(m.notional);
  state.avg_price = avgPrice;
  if (!state.prior_venue_order_ids?.includes(fill.venue_order_id)) state.venue_order_id = fill.venue_order_id;
  state.fingerprints = [...state.fingerprints, fill.fingerprint];
  state.fills++;
  state.ts = ts;
}

/** In place; other_fees is replaced, not mutated (it may be shared with an older state). */
function addFee(state: OrderState, fee: string, ccy: string): void {
  const feeCcy = state.fee_ccy ?? ccy;
  state.fee_ccy = feeCcy;
  if (ccy === feeCcy) {
    state.fees = fmt(dec(state.fees).plus(dec(fee)));
    return;
  }
  const other = state.other_fees ?? {};
  const prev = Object.hasOwn(other, ccy) ? dec(other[ccy]) : ZERO;
  state.other_fees = { ...other, [ccy]: fmt(prev.plus(dec(fee))) };
}

/** Fold events into one order's state, starting from `state` (undefined: before OrderRouted). */
export function foldOrder(events: readonly OrderFact[], state?: OrderState): OrderState | undefined {
  let s = state;
  for (const e of events) s = evolve(s, e);
  return s;
}

// ---- decide ----------------------------------------------------------------------------

function envelope(state: OrderState, seed: EnvelopeSeed, suffix: string, ts: string) {
  return {
    event_id: `${seed.event_id}/${suffix}`,
    intent_id: state.order.intent_id,
    account: state.order.account,
    strategy: state.order.strategy,
    ts: seed.ts ?? ts,
    causation: seed.causation,
    recorded_at: seed.recorded_at,
  };
}

interface Fault {
  kind: AnomalyKind;
  reason: string;
}

function anomaly(state: OrderState, seed: EnvelopeSeed, seq: number | string, report: string, fault: Fault, ts: string): EventOf<'OrderAnomaly'> {
  return {
    ...envelope(state, seed, `anomaly/${seq}`, ts),
    type: 'OrderAnomaly',
    data: { client_order_id: state.order.client_order_id, status: state.status, kind: fault.kind, report, reason: fault.reason },
  };
}

const illegal = (from: OrderStatus, to: string): Fault => ({ kind: 'ILLEGAL_TRANSITION', reason: `illegal transition ${from} -> ${to}` });

function unknown(state: OrderState, seed: EnvelopeSeed, reason: string): EventOf<'OrderUnknown'> {
  return {
    ...envelope(state, seed, 'unknown', state.ts),
    type: 'OrderUnknown',
    data: { client_order_id: state.order.client_order_id, venue: state.order.venue, reason },
  };
}

/** The gateway sent the order: OrderSubmitted from NEW (or again from UNKNOWN, once the venue said it has no such order), otherwise an anomaly. */
function decideSubmitted(state: OrderState, seed: EnvelopeSeed, recovered: boolean, latencyMs: number | undefined): OmsEvent[] {
  if (state.status !== 'NEW' && state.status !== 'UNKNOWN') {
    return [anomaly(state, seed, 'submit', 'SUBMIT', { kind: 'ILLEGAL_TRANSITION', reason: `cannot submit an order in status ${state.status}` }, state.ts)];
  }
  return [
    {
      ...envelope(state, seed, state.status === 'NEW' ? 'submitted' : 'resubmitted', state.ts),
      type: 'OrderSubmitted',
      data: {
        client_order_id: state.order.client_order_id,
        venue: state.order.venue,
        env: state.order.env,
        recovered,
        ...(latencyMs !== undefined ? { latency_ms: latencyMs } : {}),
      },
    },
  ];
}

/** Parse a venue decimal without throwing: venue input is untrusted. */
function tryDec(s: unknown): Dec | undefined {
  if (typeof s !== 'string' || !isDecimalString(s)) return undefined;
  try {
    return dec(s);
  } catch {
    return undefined;
  }
}

// One venue report gives at most one event. `seq` is the report's index in its batch: it keeps
// anomaly and duplicate ids unique. Other ids are unique per order by construction (ack and
// terminal events happen once; fills are keyed by fingerprint). A repeated ACK carrying the known
// venue order id on a live order is a redelivery: no events.

interface Step {
  events: OmsEvent[];
  /** The state after the events (a fill's state is built while deciding it, not folded again). */
  state: OrderState;
}

function step(state: OrderState, report: VenueReport, seed: EnvelopeSeed, seq: number): Step {
  if (report.kind === 'TRADE') return decideTrade(state, report, seed, seq, typeof report.ts === 'string' ? report.ts : state.ts);
  const events = decideStatus(state, report, seed, seq);
  let s = state;
  for (const e of events) s = evolveOrder(s, e);
  return { events, state: s };
}

function decideStatus(state: OrderState, report: VenueReport, seed: EnvelopeSeed, seq: number): OmsEvent[] {
  const coid = state.order.client_order_id;
  const ts = typeof report.ts === 'string' ? report.ts : state.ts;
  const bad = (fault: Fault) => [anomaly(state, seed, seq, String(report.kind), fault, ts)];
  const base = (suffix: string) => envelope(state, seed, suffix, ts);
  switch (report.kind) {
    case 'ACK': {
      if (state.status === 'SUBMITTED' || state.status === 'UNKNOWN') {
        return [{ ...base('ack'), type: 'OrderAcked', data: { client_order_id: coid, venue_order_id: report.venue_order_id } }];
      }
      const live = state.status === 'ACKED' || state.status === 'PARTIALLY_FILLED';
      if (live && state.venue_order_id === report.venue_order_id) return [];
      if (live) return bad({ kind: 'VENUE_ORDER_ID_MISMATCH', reason: `ack with venue order id ${report.venue_order_id}, order known as ${state.venue_order_id}` });
      return bad(illegal(state.status, 'ACKED'));
    }
    case 'CANCELED':
      if (!canTransition(state.status, 'CANCELED')) return bad(illegal(state.status, 'CANCELED'));
      return [{ ...base('canceled'), type: 'OrderCanceled', data: { client_order_id: coid, reason: report.reason } }];
    case 'EXPIRED':
      if (!canTransition(state.status, 'EXPIRED')) return bad(illegal(state.status, 'EXPIRED'));
      return [{ ...base('expired'), type: 'OrderExpired', data: { client_order_id: coid, reason: report.reason } }];
    case 'REJECTED':
      if (!canTransition(state.status, 'REJECTED')) return bad(illegal(state.status, 'REJECTED'));
      return [{ ...base('rejected'), type: 'OrderRejected', data: { client_order_id: coid, code: report.code, reason: report.reason } }];
    case 'AMENDED': {
      if (isTerminal(state.status) || state.status === 'NEW') return bad(illegal(state.status, 'AMENDED'));
      const qty = tryDec(report.qty);
      if (!qty || qty.lte(0)) return bad({ kind: 'MALFORMED_REPORT', reason: `bad amended qty ${JSON.stringify(report.qty)}` });
      if (qty.lt(dec(state.filled_qty))) return bad({ kind: 'OVER_FILL', reason: `amended qty ${report.qty} is below the filled ${state.filled_qty}` });
      const same = state.order.qty === fmt(qty) && state.venue_order_id === report.venue_order_id && (report.limit_price ?? state.order.limit_price) === state.order.limit_price;
      if (same) return []; // a redelivery of an amend already applied
      const data = {
        client_order_id: coid,
        venue_order_id: report.venue_order_id,
        qty: fmt(qty),
        ...(report.limit_price !== undefined ? { limit_price: report.limit_price } : {}),
      };
      return [{ ...base(`amended/${seq}/${fmt(qty)}/${report.limit_price ?? ''}`), type: 'OrderAmended', data }];
    }
    default:
      return bad({ kind: 'MALFORMED_REPORT', reason: 'unknown report kind' });
  }
}

function decideTrade(state: OrderState, r: Extract<VenueReport, { kind: 'TRADE' }>, seed: EnvelopeSeed, seq: number, ts: string): Step {
  const bad = (fault: Fault): Step => ({ events: [anomaly(state, seed, seq, 'TRADE', fault, ts)], state });
  const malformed = (reason: string) => bad({ kind: 'MALFORMED_REPORT', reason });
  const qty = tryDec(r.qty);
  const price = tryDec(r.price);
  const fee = tryDec(r.fee);
  if (!qty || qty.lte(0)) return malformed(`bad trade qty ${JSON.stringify(r.qty)}`);
  if (!price || price.lte(0)) return malformed(`bad trade price ${JSON.stringify(r.price)}`);
  if (!fee) return malformed(`bad trade fee ${JSON.stringify(r.fee)}`);
  // Canonical strings, so a resend formatted differently ("1.0" vs "1") has the same fingerprint.
  const fill: Fill = {
    fingerprint: '',
    venue: state.order.venue,
    venue_order_id: r.venue_order_id,
    trade_id: r.trade_id,
    qty: fmt(qty),
    price: fmt(price),
    fee: fmt(fee),
    fee_ccy: r.fee_ccy,
    liquidity: r.liquidity,
    ts: r.ts,
  };
  fill.fingerprint = fillFingerprint(fill);
  // A known fill is a duplicate whatever the status: it was applied already, nothing is illegal.
  if (state.fingerprints.includes(fill.fingerprint)) {
    const dup: OmsEvent = {
      ...envelope(state, seed, `dup/${seq}`, ts),
      type: 'FillDuplicate',
      data: { client_order_id: state.order.client_order_id, fingerprint: fill.fingerprint },
    };
    return { events: [dup], state };
  }
  if (isTerminal(state.status) || state.status === 'NEW') return bad(illegal(state.status, 'TRADE'));
  if (!isOwnVenueOrderId(state, r.venue_order_id)) {
    return bad({ kind: 'VENUE_ORDER_ID_MISMATCH', reason: `trade for venue order id ${r.venue_order_id}, order known as ${state.venue_order_id}` });
  }
  const m = fillMath(state, qty, price);
  if ('kind' in m) return bad(m);
  const cumQty = fmt(m.filled);
  const avgPrice = fmt(m.notional.div(m.filled));
  const filled: OmsEvent = {
    ...envelope(state, seed, `fill/${fill.fingerprint}`, ts),
    type: 'OrderFilled',
    data: { client_order_id: state.order.client_order_id, fill, cum_qty: cumQty, avg_price: avgPrice, status: m.status },
  };
  return { events: [filled], state: filledState(state, fill, m, cumQty, avgPrice, filled.ts) };
}

/** Decide a batch of reports in order, evolving the state between them. */
function decideReports(state: OrderState, reports: readonly VenueReport[], seed: EnvelopeSeed): OmsEvent[] {
  let s = state;
  const events: OmsEvent[] = [];
  for (let i = 0; i < reports.length; i++) {
    const r = step(s, reports[i], seed, i);
    for (const e of r.events) events.push(e);
    s = r.state;
  }
  return events;
}
