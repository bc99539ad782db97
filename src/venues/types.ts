// The venue seam: the gateway stage talks to every venue (simulated or real) through this.
// A venue answers some things at once (the reply to a placement) and the rest on its own time
// (fills and cancels over its user-data WebSocket, or found by a query). Both reach the OMS as
// VenueReports tagged with the client order id they belong to; fills are deduplicated there by
// fingerprint, whichever path brought them.
import type { Order, VenueReport } from '../domain/events.js';
import type { Env } from '../domain/intent.js';

/** A report about one order, as a venue sent it (WebSocket push, query, reconciliation). */
export interface VenueMessage {
  client_order_id: string;
  report: VenueReport;
}

/** What fillstream knows of an order when it speaks to the venue about it. */
export interface OrderRef {
  client_order_id: string;
  /** VENUE:SYMBOL, as in Order. */
  instrument_id: string;
  symbol: string;
  venue_order_id?: string;
}

/**
 * The venue's answer to a placement, cancel or amend:
 * - answered: the venue replied; its reports so far (ACK and any fills and terminal report, or a REJECTED);
 * - unknown: no reply (timeout, 5xx, connection lost): the request may or may not have been
 *   acted on, so the order is queried by its client order id before anything is sent again;
 * - halted: the venue refused to serve us (Binance's 418, an IP ban): nothing was acted on and
 *   nothing more may be sent until an operator resumes the venue.
 */
export type VenueAnswer =
  { kind: 'answered'; reports: VenueReport[]; recovered?: boolean } | { kind: 'unknown'; reason: string } | { kind: 'halted'; reason: string; retry_after_ms?: number };

/** An order as the venue holds it: everything it reports about it, in order. */
export interface VenueOrderSnapshot {
  client_order_id: string;
  venue_order_id: string;
  symbol: string;
  /** Still working on the venue (new or partially filled). */
  open: boolean;
  /** ACK, the fills known, then the terminal report if closed. */
  reports: VenueReport[];
}

/** The trading rules the venue publishes for one symbol (decimals as strings). */
export interface VenueInstrumentRules {
  symbol: string;
  base: string;
  quote: string;
  tick_size: string;
  lot_size: string;
  min_qty: string;
  max_qty: string;
  min_notional: string;
}

/** What a gateway learns before it reports ready. */
export interface VenueStartup {
  can_trade: boolean;
  /** Undefined when the venue does not say (the gateway then refuses production keys). */
  can_withdraw: boolean | undefined;
  /** Venue clock minus local clock, ms, as measured. */
  clock_offset_ms: number;
  instruments: VenueInstrumentRules[];
  /** Free balance by asset, when the venue says (the router leaves out venues short of one). */
  balances?: Record<string, string>;
}

/** How close the gateway runs to the venue's limits, for health and metrics. */
export interface VenueHealth {
  connected: boolean;
  halted?: string;
  /** Fraction of the tightest rate limit still free (1 = nothing used). */
  rate_headroom: number;
  /** Epoch ms until which nothing is sent (a 429's Retry-After), if any. */
  backoff_until_ms?: number;
}

/** What an amend changes: the new total quantity (filled part included) and/or the new limit price. */
export interface AmendChange {
  qty?: string;
  limit_price?: string;
}

/** Where a live venue's account is reached and with which keys; each venue's config adds its own fields. */
export interface VenueConnection {
  /** Whose orders these keys may carry: staging keys (testnet, demo, emulator) never see prod orders. */
  env: 'staging' | 'prod';
  /** REST base URL (the venue's, or an emulator's http://127.0.0.1:port). */
  rest_url: string;
  /** The user-data WebSocket URL (KuCoin: empty takes the one its bullet endpoint hands out). */
  ws_url: string;
  api_key: string;
  api_secret: string;
  /** The fillstream account these keys trade for (default "default"). */
  account?: string;
  /** No reply within this many ms: the request has no answer (default 5,000). */
  timeout_ms?: number;
}

/** The venue's answer to an order test (a placement it validates and drops: nothing is placed). */
export type OrderTestAnswer = { kind: 'accepted' } | { kind: 'rejected'; code: string; reason: string } | { kind: 'unknown'; reason: string };

export interface VenueAdapter {
  /** Venue name as in instrument ids: BINANCE, OKX, KUCOIN, or the simulator's venues. */
  readonly venues: readonly string[];
  /** The environment whose orders this adapter's credentials may carry: never another. */
  readonly env: Env;
  /** Probe keys, sync the clock, load instrument rules. Throws (a PermanentFault) when unsafe to trade. */
  start(signal?: AbortSignal): Promise<VenueStartup>;
  /** Place an order; the client order id is the idempotency key. `ts` is the command's event time. */
  place(order: Order, ts: string): Promise<VenueAnswer>;
  cancel(ref: OrderRef, ts: string): Promise<VenueAnswer>;
  amend(ref: OrderRef & { filled_qty: string; order: Order }, change: AmendChange, ts: string): Promise<VenueAnswer>;
  /** The order the venue holds under this client order id, or undefined when it has none. Throws on transport failure. */
  query(ref: OrderRef): Promise<VenueOrderSnapshot | undefined>;
  /**
   * Free balance (not locked by open orders) of each asset asked, as canonical decimals; an asset
   * the account does not hold is "0". Throws on transport failure.
   */
  balances(assets: readonly string[]): Promise<Record<string, string>>;
  /**
   * Validate an order with the venue's order-test endpoint (signed and checked like a placement,
   * never placed). Absent on a venue without one (OKX).
   */
  testOrder?(order: Order, ts: string): Promise<OrderTestAnswer>;
  /** Every order open on the venue for these credentials (reconciliation). */
  openOrders(): Promise<VenueOrderSnapshot[]>;
  /** Trades since `sinceMs` (epoch ms) on these symbols, each tagged with its client order id when the venue gives it. */
  trades(symbols: readonly string[], sinceMs: number): Promise<VenueMessage[]>;
  /**
   * Reports pushed by the venue (user-data WebSocket). `onReports` is called in arrival order;
   * `onStatus` when the stream connects or drops (the adapter reconnects by itself).
   */
  subscribe(onReports: (m: VenueMessage[]) => void, onStatus?: (connected: boolean, reason?: string) => void): void;
  health(): VenueHealth;
  /** An operator cleared the venue's halt (after a 418): requests may be sent again. */
  resume(): void;
  close(): Promise<void>;
}

/**
 * The simulator's seam (unchanged from before the live venues): a batch placed at once, every
 * report back in the answer. The gateway drives it through the same OMS; it never needs a query.
 */
export interface VenueOrderResult {
  client_order_id: string;
  /** True when the venue already had this client order id (a retry after a crash): nothing new was placed. */
  recovered: boolean;
  /** Everything the venue reports about the order so far, in order. */
  reports: VenueReport[];
}

export interface Venue {
  /** Venue names this gateway serves, e.g. ['BINANCE','OKX','KUCOIN'] for the simulator. */
  readonly venues: readonly string[];
  /**
   * Place orders idempotently by client order id: an id the venue already knows is not placed
   * again; its existing reports come back with recovered = true. Results are in input order.
   */
  submit(orders: Order[]): Promise<VenueOrderResult[]>;
  /** Orders the venue knows about, by client order id (for reconciliation and tests). */
  knownOrders(): Promise<number>;
  close(): Promise<void>;
}
