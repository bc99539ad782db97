// The gateway's connections to live venues, kept for the life of the process (a Kafka stage that is
// rebuilt after a failure finds them still up). What a venue says on its own time (user-data
// stream, queries, reconciliation) is written to exec.gateway as VenueReportReceived, in the
// partition of the order's account, and decided there by the gateway's OMS like any input.
import type { Env } from '../domain/intent.js';
import type { Event, EventOf, Order } from '../domain/events.js';
import { PermanentFault } from '../domain/faults.js';
import { hash } from 'node:crypto';
import { microsToIso, nowMicros } from '../domain/time.js';
import type { OutRecord } from '../log/types.js';
import type { OrderState } from '../oms/order.js';
import { toRecord } from '../runtime/codec.js';
import { wallClockIso } from '../runtime/stage.js';
import type { VenueAdapter, VenueMessage, VenueOrderSnapshot, VenueStartup } from '../venues/types.js';

/** One venue's credentials and connection: the account they trade for, the environment they may carry. */
export interface LiveVenue {
  venue: string;
  env: Exclude<Env, 'sim'>;
  account: string;
  adapter: VenueAdapter;
}

/** Milliseconds to the microsecond: what a latency is recorded with. */
export const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

export const liveKey = (env: string, venue: string): string => `${env}:${venue}`;

/** What the gateway knows of an order when a venue message about it arrives. */
export interface KnownOrder {
  order: Order;
  partition: number;
  finished: boolean;
}

/** How the live session reads the gateway's fold: an order by client order id, a venue's live orders. */
export interface GatewayPortView {
  orderOf(coid: string): { finished: true } | { state: OrderState; partition: number } | undefined;
  liveOrders(env: string, venue: string): OrderState[];
}

/**
 * The venue message as an input event: the order's envelope, the report's own time. Its id is a
 * digest of the message, so the same report written twice (a stream push and a query) has one id.
 */
export function reportReceived(o: KnownOrder, lv: LiveVenue, m: VenueMessage, source: 'stream' | 'query' | 'trades' | 'reconcile'): OutRecord {
  const digest = hash('sha256', JSON.stringify(m.report), 'hex').slice(0, 16);
  const e: Event = {
    event_id: `${o.order.client_order_id}/venue/${digest}`,
    type: 'VenueReportReceived',
    intent_id: o.order.intent_id,
    account: o.order.account,
    strategy: o.order.strategy,
    ts: typeof m.report.ts === 'string' ? m.report.ts : microsToIso(nowMicros()),
    causation: `venue:${lv.venue}:${source}`,
    recorded_at: '',
    data: { client_order_id: m.client_order_id, venue: lv.venue, env: lv.env, source, report: m.report },
  };
  return { ...toRecord(e, wallClockIso()), partition: o.partition };
}

/** A venue-level event (ready, halted, quarantined) for the live venue's account. */
export function venueEvent<T extends 'VenueReady' | 'VenueHalted' | 'AccountQuarantined' | 'VenueOrderMissing'>(
  lv: LiveVenue,
  type: T,
  id: string,
  data: Extract<Event, { type: T }>['data'],
  intent?: { intent_id: string; strategy: string; partition?: number },
): OutRecord {
  const now = microsToIso(nowMicros());
  const e = {
    event_id: `venue/${lv.env}/${lv.venue}/${id}`,
    type,
    intent_id: intent?.intent_id ?? '',
    account: lv.account,
    strategy: intent?.strategy ?? '',
    ts: now,
    causation: `venue:${lv.venue}`,
    recorded_at: '',
    data,
  } as Event;
  const r = toRecord(e, wallClockIso());
  return intent?.partition === undefined ? r : { ...r, partition: intent.partition };
}

/** The answer to a chain's balance wait (one per wait: its id says which). */
export function balanceSeen(
  w: EventOf<'ChainBalanceAwaited'>,
  seen: { free?: string; met: boolean; waited_ms: number; asks: number; error?: string },
  partition?: number,
): OutRecord {
  const e: EventOf<'ChainBalanceSeen'> = {
    event_id: `${w.intent_id}/chain/balance/${w.data.leg}`,
    type: 'ChainBalanceSeen',
    intent_id: w.intent_id,
    account: w.account,
    strategy: w.strategy,
    ts: w.ts,
    causation: w.event_id,
    recorded_at: '',
    data: {
      leg: w.data.leg,
      asset: w.data.asset,
      expected: w.data.expected,
      ...(seen.free !== undefined ? { free: seen.free } : {}),
      met: seen.met,
      waited_ms: seen.waited_ms,
      asks: seen.asks,
      ...(seen.error !== undefined ? { error: seen.error } : {}),
      at_us: nowMicros(),
    },
  };
  const r = toRecord(e, wallClockIso());
  return partition === undefined ? r : { ...r, partition };
}

/** Unsafe keys never trade: production keys that can withdraw, keys that cannot trade. */
export function checkStartup(lv: LiveVenue, s: VenueStartup): void {
  if (!s.can_trade) throw new PermanentFault(`${lv.venue} (${lv.env})`, 'the API key may not trade', 'refusing to start: give the key trading permission');
  if (lv.env === 'prod' && s.can_withdraw !== false) {
    const what = s.can_withdraw === undefined ? 'does not say whether the API key can withdraw' : 'the API key can withdraw funds';
    throw new PermanentFault(`${lv.venue} (prod)`, what, 'refusing to start with production keys that may withdraw: disable withdrawals for this key on the venue');
  }
}

export interface Reconciliation {
  /** Reports to write for orders fillstream knows. */
  reports: { order: KnownOrder; message: VenueMessage; source: 'reconcile' | 'trades' }[];
  /** Venue orders (open) and trades fillstream did not place. */
  orphans: { client_order_id: string; venue_order_id: string; symbol: string; reason: string }[];
  /** Orders sent whose answer never came, and that the venue does not have. */
  missing: KnownOrder[];
}

/**
 * Compare what the venue holds with what the log knows (pure): every report of every live order
 * and every recent trade goes to the OMS (which drops what it has, by fingerprint); venue orders
 * and trades under ids fillstream never used are orphans.
 */
export function reconcile(
  live: { order: KnownOrder; snapshot: VenueOrderSnapshot | undefined; status: string }[],
  open: VenueOrderSnapshot[],
  trades: VenueMessage[],
  orderOf: (clientOrderId: string) => KnownOrder | undefined,
): Reconciliation {
  const out: Reconciliation = { reports: [], orphans: [], missing: [] };
  for (const l of live) {
    if (l.snapshot)
      for (const report of l.snapshot.reports) out.reports.push({ order: l.order, message: { client_order_id: l.order.order.client_order_id, report }, source: 'reconcile' });
    else if (l.status === 'SUBMITTED' || l.status === 'UNKNOWN') out.missing.push(l.order);
  }
  for (const o of open) {
    if (!orderOf(o.client_order_id)) out.orphans.push({ client_order_id: o.client_order_id, venue_order_id: o.venue_order_id, symbol: o.symbol, reason: 'open order' });
  }
  for (const t of trades) {
    const known = orderOf(t.client_order_id);
    if (known) out.reports.push({ order: known, message: t, source: 'trades' });
    else if (t.report.kind === 'TRADE') {
      out.orphans.push({ client_order_id: t.client_order_id, venue_order_id: t.report.venue_order_id, symbol: '', reason: `trade ${t.report.trade_id}` });
    }
  }
  return out;
}
