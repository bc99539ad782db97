// The simulation gateway's venue: matches orders with matchOrder and, like a real venue, remembers
// every client order id it has seen, durably. Each submit batch is journaled with one write before
// it returns, so after a crash (even SIGKILL) a retried order is recognised, never placed twice.
// Retries are journaled too (a line each, nothing placed): tests hold the gateway to account for them.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Order, VenueReport } from '../../domain/events.js';
import { microsToIso, parseRfc3339Micros } from '../../domain/time.js';
import type { MarketData } from '../../market/types.js';
import type { AmendChange, OrderRef, Venue, VenueAdapter, VenueAnswer, VenueHealth, VenueMessage, VenueOrderSnapshot, VenueOrderResult, VenueStartup } from '../types.js';

import { decodeJournalLine, encodeJournalText, encodeResendText, type JournalContents, type JournalEntry, readJournal } from './journal.js';
import { dec, ZERO } from '../../domain/decimal.js';
import { matching } from './match.js';

/** An order with its event time (RFC 3339): the simulator fills against the book at that time. */
export type TimedOrder = Order & { ts: string };

export const SIM_JOURNAL_FILE = 'sim-venue.ndjson';

export interface SimVenueOptions {
  /** Directory of the journal file (created when missing). */
  dir: string;
  market: MarketData;
  /** fsync after each batch: survives power loss, not just a process crash (default false). */
  fsync?: boolean;
  /** The answer to a batch comes this long after it was taken (journaled): a venue's round trip rehearsed (default 0). */
  latencyMs?: number;
}

/**
 * The simulator behind both seams: the batch one the gateway uses for `sim` orders (every report in
 * the answer, many orders per journal write), and the live venues' one, where it answers everything
 * at once and never pushes (nothing rests in its book that could fill later).
 */
export class SimVenue implements Venue, VenueAdapter {
  readonly env = 'sim' as const;
  readonly venues: readonly string[];
  private readonly market: MarketData;
  /**
   * The journal text of every known client order id. Reports are decoded from it only when an order
   * comes back (rare): one flat string per order is far lighter to keep, for memory and the GC,
   * than its report objects.
   */
  private readonly orders = new Map<string, string>();
  /** Placements beyond the first, by client order id: only a doubled journal (found on open) has any. */
  private readonly extraPlacements = new Map<string, number>();
  /** Requests for client order ids already held (answered with their stored reports), by id. */
  private readonly resent = new Map<string, number>();
  private fd: number | undefined;
  private readonly fsync: boolean;
  private readonly latencyMs: number;
  /** Journal lines dropped on open because the previous process died mid-write. */
  readonly tornLinesDropped: number;

  private constructor(opts: SimVenueOptions, fd: number, loaded: JournalContents, torn: number) {
    this.market = opts.market;
    this.fsync = opts.fsync ?? false;
    this.latencyMs = opts.latencyMs ?? 0;
    this.fd = fd;
    this.tornLinesDropped = torn;
    this.venues = Object.freeze([...new Set(opts.market.instruments().map((s) => s.venue))]);
    loaded.entries.forEach((e, i) => {
      const id = e.client_order_id;
      if (!this.orders.has(id)) this.orders.set(id, loaded.texts[i]);
      else this.extraPlacements.set(id, (this.extraPlacements.get(id) ?? 0) + 1);
    });
    for (const id of loaded.resent) this.resent.set(id, (this.resent.get(id) ?? 0) + 1);
  }

  /** Open (or create) the journal in `dir` and reload what the venue already knows. */
  static open(opts: SimVenueOptions): SimVenue {
    mkdirSync(opts.dir, { recursive: true });
    const path = join(opts.dir, SIM_JOURNAL_FILE);
    const loaded = existsSync(path) ? readJournal(path) : { entries: [], texts: [], resent: [], goodBytes: 0, size: 0 };
    // Cut a torn tail so the next append starts on a fresh line.
    const torn = loaded.goodBytes < loaded.size ? 1 : 0;
    if (torn) truncateSync(path, loaded.goodBytes);
    const fd = openSync(path, 'a');
    return new SimVenue(opts, fd, loaded, torn);
  }

  /**
   * Place orders (TimedOrder: the event time is read from `ts`). Known client order ids come back
   * with their stored reports and recovered = true. The batch is durable before this returns.
   */
  async submit(orders: Order[]): Promise<VenueOrderResult[]> {
    const results = this.submitSync(orders);
    // Taken and journaled now; answered after the round trip, as a venue would.
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    return results;
  }

  /** Synchronous core of submit (the same guarantees). */
  submitSync(orders: readonly Order[]): VenueOrderResult[] {
    if (this.fd === undefined) throw new Error('sim venue is closed');
    const results: VenueOrderResult[] = [];
    // This batch's new orders: their reports (an id may repeat within a batch) and journal texts,
    // in request order with a line per re-send.
    const fresh = new Map<string, VenueReport[]>();
    const texts: string[] = [];
    const resent: string[] = [];
    const lines: string[] = [];
    for (const order of orders) {
      const id = order.client_order_id;
      const known = this.orders.get(id);
      if (known !== undefined) {
        results.push({ client_order_id: id, recovered: true, reports: decodeJournalLine(known).reports });
        resent.push(id);
        lines.push(encodeResendText(id));
        continue;
      }
      const again = fresh.get(id);
      if (again) {
        results.push({ client_order_id: id, recovered: true, reports: again.slice() });
        resent.push(id);
        lines.push(encodeResendText(id));
        continue;
      }
      const ts = (order as Partial<TimedOrder>).ts;
      const reports = this.match(order, ts);
      fresh.set(id, reports);
      const text = encodeJournalText({ client_order_id: id, instrument_id: order.instrument_id, ts: typeof ts === 'string' ? ts : null, qty: order.qty, reports });
      texts.push(text);
      lines.push(text);
      results.push({ client_order_id: id, recovered: false, reports: reports.slice() });
    }
    if (lines.length > 0) {
      writeAll(this.fd, Buffer.from(lines.join('\n') + '\n', 'utf8'));
      if (this.fsync) fsyncSync(this.fd);
      // Known only once durable: a failed write leaves nothing half-placed.
      let i = 0;
      for (const id of fresh.keys()) this.orders.set(id, texts[i++]);
      for (const id of resent) this.resent.set(id, (this.resent.get(id) ?? 0) + 1);
    }
    return results;
  }

  private match(order: Order, ts: string | undefined): VenueReport[] {
    const tsUs = typeof ts === 'string' ? parseRfc3339Micros(ts) : undefined;
    if (tsUs === undefined) {
      return [
        {
          kind: 'REJECTED',
          code: 'NO_MARKET_DATA',
          reason: `order has no valid event time (ts, RFC 3339): got ${JSON.stringify(ts)}; the simulator fills against the book at the order's event time`,
          ts: microsToIso(0), // no event time to report: a fixed one keeps reports deterministic
        },
      ];
    }
    const spec = this.market.instrument(order.instrument_id);
    const book = spec ? this.market.bookAt(order.instrument_id, tsUs) : undefined;
    return matching.decide({ order, book, spec, ts_us: tsUs });
  }

  async start(): Promise<VenueStartup> {
    const instruments = this.market.instruments().map((i) => ({
      symbol: i.symbol,
      base: i.base,
      quote: i.quote,
      tick_size: i.tick_size,
      lot_size: i.lot_size,
      min_qty: i.min_qty,
      max_qty: i.max_qty,
      min_notional: i.min_notional,
    }));
    return { can_trade: true, can_withdraw: false, clock_offset_ms: 0, instruments };
  }

  async place(order: Order, ts: string): Promise<VenueAnswer> {
    const [r] = this.submitSync([{ ...order, ts } as TimedOrder]);
    return { kind: 'answered', reports: r.reports, recovered: r.recovered };
  }

  /** Nothing rests in the simulator's book: an open order is canceled (or amended) at once, by the command's time. */
  async cancel(ref: OrderRef, ts: string): Promise<VenueAnswer> {
    const snap = await this.query(ref);
    if (!snap?.open) return { kind: 'answered', reports: [{ kind: 'REJECTED', code: 'UNKNOWN_ORDER', reason: snap ? 'order is closed' : 'no such order', ts }] };
    return { kind: 'answered', reports: [{ kind: 'CANCELED', reason: 'canceled by request', ts }] };
  }

  async amend(ref: OrderRef, change: AmendChange, ts: string): Promise<VenueAnswer> {
    const snap = await this.query(ref);
    if (!snap?.open) return { kind: 'answered', reports: [{ kind: 'REJECTED', code: 'UNKNOWN_ORDER', reason: snap ? 'order is closed' : 'no such order', ts }] };
    return {
      kind: 'answered',
      reports: [{ kind: 'AMENDED', venue_order_id: snap.venue_order_id, qty: change.qty ?? '', ...(change.limit_price ? { limit_price: change.limit_price } : {}), ts }],
    };
  }

  async query(ref: OrderRef): Promise<VenueOrderSnapshot | undefined> {
    const text = this.orders.get(ref.client_order_id);
    return text === undefined ? undefined : snapshotOf(decodeJournalLine(text));
  }

  async openOrders(): Promise<VenueOrderSnapshot[]> {
    const out: VenueOrderSnapshot[] = [];
    for (const text of this.orders.values()) {
      const snap = snapshotOf(decodeJournalLine(text));
      if (snap.open) out.push(snap);
    }
    return out;
  }

  async trades(symbols: readonly string[], sinceMs: number): Promise<VenueMessage[]> {
    const out: VenueMessage[] = [];
    for (const text of this.orders.values()) {
      const e = decodeJournalLine(text);
      const symbol = e.instrument_id.slice(e.instrument_id.indexOf(':') + 1);
      if (!symbols.includes(symbol)) continue;
      for (const report of e.reports) if (report.kind === 'TRADE' && Date.parse(report.ts) >= sinceMs) out.push({ client_order_id: e.client_order_id, report });
    }
    return out;
  }

  /** The simulator keeps no account (it fills every order as if funded), so any balance it gave would be made up: it says so instead. */
  async balances(_assets: readonly string[]): Promise<Record<string, string>> {
    throw new Error('the simulated venue keeps no account balances: it fills every order as if funded (balances are known on live venues only)');
  }

  /** The simulator never pushes: every report is in the answer to the placement. */
  subscribe(): void {}

  health(): VenueHealth {
    return { connected: this.fd !== undefined, rate_headroom: 1 };
  }

  resume(): void {}

  async knownOrders(): Promise<number> {
    return this.orders.size;
  }

  /** Stored reports of one client order id, if the venue knows it. */
  reportsFor(clientOrderId: string): readonly VenueReport[] | undefined {
    const text = this.orders.get(clientOrderId);
    return text === undefined ? undefined : decodeJournalLine(text).reports;
  }

  /** How many times each client order id was placed (journaled); 1 for every id unless something doubled. */
  journalCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const id of this.orders.keys()) counts.set(id, 1 + (this.extraPlacements.get(id) ?? 0));
    return counts;
  }

  /** Requests for client order ids the venue already held, by id: nothing was placed for them. */
  resendCounts(): Map<string, number> {
    return new Map(this.resent);
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}

/** An order as the simulator holds it: open while acked, not ended by a report, and not fully filled (a GTC remainder rests). */
function snapshotOf(e: JournalEntry): VenueOrderSnapshot {
  const ack = e.reports.find((r) => r.kind === 'ACK');
  const terminal = e.reports.some((r) => r.kind === 'CANCELED' || r.kind === 'EXPIRED' || r.kind === 'REJECTED');
  let filled = ZERO;
  for (const r of e.reports) if (r.kind === 'TRADE') filled = filled.plus(dec(r.qty));
  return {
    client_order_id: e.client_order_id,
    venue_order_id: ack && ack.kind === 'ACK' ? ack.venue_order_id : '',
    symbol: e.instrument_id.slice(e.instrument_id.indexOf(':') + 1),
    // Lines written before the order quantity was journaled cannot tell a rest from a full fill: closed.
    open: ack !== undefined && !terminal && e.qty !== undefined && filled.lt(dec(e.qty)),
    reports: e.reports,
  };
}

export async function openSimVenue(opts: SimVenueOptions): Promise<SimVenue> {
  return SimVenue.open(opts);
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
