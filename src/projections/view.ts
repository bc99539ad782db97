// The business state of a data dir: a fold over every topic of the log. Used by the run summary,
// replay, the blotter and positions. Only the order within exec.gateway matters, so the fold
// gives the same state whatever order a partitioned log interleaves topics in.
import { dec, type Dec } from '../domain/decimal.js';
import { ALL_TOPICS, TERMINAL_STATUSES, TOPICS, type Event, type OrderStatus, type OrderStatusFact } from '../domain/events.js';
import { canonicalJson, sha256Hex } from '../domain/hash.js';
import { isoToMicros } from '../domain/time.js';
import type { EventLog, LogRecord } from '../log/types.js';
import { midPrice } from '../market/book.js';
import type { MarketData } from '../market/types.js';
import { oms, type OrderState } from '../oms/order.js';
import { emptyBook, evolvePositions, markToMarket, type InstrumentResolver, type MarkToMarket, type PositionBook } from '../positions/positions.js';
import { fromRecord, HEADER_FLATTEN_ID, HEADER_FORWARDED_FROM, HEADER_TYPE, statusOf } from '../runtime/codec.js';

export interface View {
  events: number;
  intents: number;
  dlq: number;
  duplicates: number;
  normalized: number;
  accepted: number;
  rejected: number;
  /** Cancels and amends risk let through. */
  changes: number;
  fills: number;
  fill_duplicates: number;
  anomalies: number;
  policy_version: number;
  dlq_by_code: Record<string, number>;
  rejects_by_code: Record<string, number>;
  orders: Map<string, OrderState>;
  positions: PositionBook;
  /** Venue standing by `env:VENUE`: halted (418 or an operator) and quarantined (an order on the venue fillstream did not place). */
  venues: Record<string, VenueStanding>;
  /** Risk's trading states that are not ACTIVE, by scope (global, account:A, strategy:S). */
  risk_states: Record<string, { mode: string; by: string; reason: string }>;
  /** warn_only breaches (RiskWarned). */
  warnings: number;
  /** Closing intents of flattens risk decided (not intents from exec.intents). */
  closing: number;
  /** Latest order event time (canonical ISO strings order like times): positions are marked at it. */
  last_ts: string;
  /** Multi-leg chains risk let through, and what became of them. */
  chains: ChainCounts;
}

export interface ChainCounts {
  approved: number;
  refused: number;
  refused_by_code: Record<string, number>;
  filled: number;
  failed: number;
  aborted: number;
}

export interface VenueStanding {
  halted?: string;
  quarantined?: string;
  /** When the gateway last connected (its VenueReady time). */
  ready_at?: string;
}

export function emptyView(): View {
  return {
    events: 0,
    intents: 0,
    dlq: 0,
    duplicates: 0,
    normalized: 0,
    accepted: 0,
    rejected: 0,
    changes: 0,
    fills: 0,
    fill_duplicates: 0,
    anomalies: 0,
    policy_version: 0,
    dlq_by_code: {},
    rejects_by_code: {},
    orders: new Map(),
    positions: emptyBook(),
    venues: {},
    risk_states: {},
    warnings: 0,
    closing: 0,
    last_ts: '',
    chains: { approved: 0, refused: 0, refused_by_code: {}, filled: 0, failed: 0, aborted: 0 },
  };
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

export function applyRecord(view: View, r: LogRecord, resolve?: InstrumentResolver): void {
  view.events++;
  if (r.topic === TOPICS.intents) {
    // A copy a stage moved to its account's partition is the same intent as the record it names.
    if (r.headers[HEADER_FORWARDED_FROM] === undefined) view.intents++;
    return;
  }
  // JSON parsing is most of a replay's cost: events that are only counted, and order status
  // events, whose headers carry all the fold needs, are folded from the headers alone.
  if (countOnly(view, r.headers[HEADER_TYPE], r.headers[HEADER_FLATTEN_ID] !== undefined)) return;
  const st = statusOf(r);
  if (st !== undefined) applyStatus(view, st, resolve);
  else applyEvent(view, fromRecord(r), resolve);
}

/** An order status event known from its headers: the same folds as the parsed event takes in applyEvent. */
function applyStatus(view: View, st: OrderStatusFact, resolve: InstrumentResolver | undefined): void {
  if (st.ts > view.last_ts) view.last_ts = st.ts;
  oms.evolveInPlace(view.orders.get(st.data.client_order_id), st);
  view.positions = evolvePositions(view.positions, st, resolve);
}

/** Events that only count toward the summary; true when `type` is one (nothing else to fold). */
function countOnly(view: View, type: string | undefined, closing: boolean): boolean {
  switch (type) {
    case 'IntentAccepted':
      view.normalized++;
      return true;
    case 'RiskApproved':
      // A flatten's closing intents came from an operator, not from exec.intents.
      if (closing) view.closing++;
      else view.accepted++;
      return true;
    case 'IntentDuplicate':
      view.duplicates++;
      return true;
    case 'OrderAnomaly':
      view.anomalies++;
      return true;
    case 'FillDuplicate':
      view.fill_duplicates++;
      return true;
    default:
      return false;
  }
}

export function applyEvent(view: View, e: Event, resolve?: InstrumentResolver): void {
  if (countOnly(view, e.type, 'flatten_id' in e.data && e.data.flatten_id !== undefined)) return;
  switch (e.type) {
    case 'DeadLetter':
      view.dlq++;
      bump(view.dlq_by_code, e.data.code);
      return;
    case 'RiskPolicySet':
      view.policy_version = e.data.version;
      return;
    case 'RiskRejected':
      if (e.data.flatten_id !== undefined) view.closing++;
      else {
        view.rejected++;
        bump(view.rejects_by_code, e.data.code);
      }
      return;
    case 'VenueReady':
    case 'VenueHalted':
    case 'VenueResumed':
    case 'AccountQuarantined':
    case 'QuarantineCleared':
      applyVenueEvent(view, e);
      return;
    case 'OrderChangeApproved':
      view.changes++;
      return;
    case 'ChainApproved':
      view.chains.approved++;
      return;
    case 'ChainRefused':
      view.chains.refused++;
      bump(view.chains.refused_by_code, e.data.code);
      return;
    case 'ChainCompleted':
      if (e.data.status === 'FILLED') view.chains.filled++;
      else if (e.data.status === 'FAILED') view.chains.failed++;
      else view.chains.aborted++;
      return;
    case 'TradingStateChanged':
      if (e.data.to === 'ACTIVE') delete view.risk_states[e.data.scope];
      else view.risk_states[e.data.scope] = { mode: e.data.to, by: e.data.by, reason: e.data.reason };
      return;
    case 'RiskWarned':
      view.warnings++;
      return;
    // Operator acts and their bookkeeping: wall-clock times, no orders of their own.
    case 'OperatorCommand':
    case 'CompliancePolicySet':
    case 'FlattenStarted':
    case 'FlattenCompleted':
      return;
    // Inputs the gateway decides on: what they lead to is folded from its order events. Their
    // times are wall-clock arrivals, which must not move the time positions are marked at.
    case 'VenueReportReceived':
    case 'VenueOrderMissing':
    case 'OrderChangeRequested':
    case 'OrderChangeRouted':
    case 'OrderChangeRejected':
      return;
    default:
      break;
  }
  // Market time comes from orders only: a dead letter's time may be its wall-clock arrival.
  if (e.ts > view.last_ts) view.last_ts = e.ts;
  if (e.type === 'OrderFilled') view.fills++;
  const coid = e.type === 'OrderRouted' ? e.data.order.client_order_id : 'client_order_id' in e.data ? e.data.client_order_id : undefined;
  if (coid !== undefined) {
    // The view owns its order states: evolved in place rather than copied per event.
    const s = view.orders.get(coid);
    const next = oms.evolveInPlace(s, e);
    if (s === undefined && next !== undefined) view.orders.set(coid, next);
  }
  view.positions = evolvePositions(view.positions, e, resolve);
}

function applyVenueEvent(view: View, e: Extract<Event, { type: 'VenueReady' | 'VenueHalted' | 'VenueResumed' | 'AccountQuarantined' | 'QuarantineCleared' }>): void {
  const key = `${e.data.env}:${e.data.venue}`;
  const v = (view.venues[key] ??= {});
  if (e.type === 'VenueReady') v.ready_at = e.ts;
  else if (e.type === 'VenueHalted') v.halted = e.data.reason;
  else if (e.type === 'VenueResumed') delete v.halted;
  else if (e.type === 'AccountQuarantined') v.quarantined ??= `account ${e.account}: ${e.data.reason}`;
  else delete v.quarantined;
}

/** Fold every topic of the log into a fresh view. */
export async function foldLog(log: EventLog, market?: MarketData): Promise<View> {
  const view = emptyView();
  const resolve = resolverFor(market);
  await log.scan(ALL_TOPICS, (r) => applyRecord(view, r, resolve));
  return view;
}

export function resolverFor(market?: MarketData): InstrumentResolver | undefined {
  if (!market) return undefined;
  return (id) => {
    const s = market.instrument(id);
    return s && { base: s.base, quote: s.quote };
  };
}

export function markPositions(view: View, market: MarketData): MarkToMarket {
  const marks = new Map<string, Dec | undefined>();
  const at = view.last_ts ? isoToMicros(view.last_ts) : 0;
  return markToMarket(view.positions, (id) => {
    if (!marks.has(id)) marks.set(id, at ? midPrice(market.bookAt(id, at)) : undefined);
    return marks.get(id);
  });
}

export function ordersByStatus(view: View): Record<OrderStatus, number> {
  const out = { NEW: 0, SUBMITTED: 0, UNKNOWN: 0, ACKED: 0, PARTIALLY_FILLED: 0, FILLED: 0, CANCELED: 0, REJECTED: 0, EXPIRED: 0 };
  for (const o of view.orders.values()) out[o.status]++;
  return out;
}

/** Hash of the business state: orders, positions, PnL and the intake outcome counts. No wall-clock times. */
export function stateHash(view: View, mtm: MarkToMarket): string {
  const orders = [...view.orders.values()]
    .map((o) => [o.order.client_order_id, o.order.intent_id, o.status, o.filled_qty, o.avg_price, o.fees])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const positions = mtm.positions.map((p) => [p.account, p.instrument_id, p.qty, p.avg_cost, p.realized_pnl, p.fees, p.unrealized_pnl ?? null]);
  const counts = { intents: view.intents, dlq: view.dlq, duplicates: view.duplicates, accepted: view.accepted, rejected: view.rejected };
  return sha256Hex(canonicalJson({ orders, positions, pnl: mtm.totals, counts }));
}

export interface Summary {
  intents: number;
  dlq: number;
  duplicates: number;
  accepted: number;
  rejected: number;
  changes: number;
  pending: number;
  orders: number;
  /** Intents with at least one order (a split's children count once; a chain's legs under its id). */
  routed_intents: number;
  fills: number;
  open_orders: number;
  orders_by_status: Record<OrderStatus, number>;
  dlq_by_code: Record<string, number>;
  rejects_by_code: Record<string, number>;
  anomalies: number;
  fill_duplicates: number;
  positions: number;
  pnl: MarkToMarket['totals'];
  policy_version: number;
  events: number;
  state_hash: string;
  /** Venues halted or quarantined, and when each last connected, by env:VENUE. */
  venues: View['venues'];
  risk_states: View['risk_states'];
  warnings: number;
  closing: number;
  /** Chains: approved by risk, refused by the chain decider, and reported (in flight: approved − refused − reported). */
  chains: ChainCounts & { in_flight: number };
}

function routedIntents(view: View): number {
  const ids = new Set<string>();
  for (const o of view.orders.values()) ids.add(o.order.intent_id);
  return ids.size;
}

export function summarize(view: View, market: MarketData): Summary {
  const mtm = markPositions(view, market);
  const byStatus = ordersByStatus(view);
  let open = 0;
  for (const [s, n] of Object.entries(byStatus)) if (!TERMINAL_STATUSES.has(s as OrderStatus)) open += n;
  return {
    intents: view.intents,
    dlq: view.dlq,
    duplicates: view.duplicates,
    accepted: view.accepted,
    rejected: view.rejected,
    changes: view.changes,
    pending: view.intents - view.dlq - view.duplicates - view.accepted - view.rejected - view.changes - view.chains.approved,
    orders: view.orders.size,
    routed_intents: routedIntents(view),
    fills: view.fills,
    open_orders: open,
    orders_by_status: byStatus,
    dlq_by_code: view.dlq_by_code,
    rejects_by_code: view.rejects_by_code,
    anomalies: view.anomalies,
    fill_duplicates: view.fill_duplicates,
    positions: mtm.positions.filter((p) => !dec(p.qty).eq(0)).length,
    pnl: mtm.totals,
    policy_version: view.policy_version,
    events: view.events,
    state_hash: stateHash(view, mtm),
    venues: view.venues,
    risk_states: view.risk_states,
    warnings: view.warnings,
    closing: view.closing,
    chains: { ...view.chains, in_flight: view.chains.approved - view.chains.refused - view.chains.filled - view.chains.failed - view.chains.aborted },
  };
}
