// Gateway adapter: routed orders in, venue reports through the OMS decider, order events out.
// exec.gateway is both its input (OrderRouted) and its output (lifecycle, fills): the gateway
// folds the whole topic on start, so a routed order it already handled is never sent twice.
import { TOPICS, type Order, type VenueReport } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { isTerminal, oms, type OmsEvent, type OrderCommand, type OrderFact, type OrderState } from '../oms/order.js';
import { fromRecord, statusOf, toRecord, traceOf, typeOf } from '../runtime/codec.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import type { Venue, VenueOrderResult } from '../venues/types.js';

export interface GatewayOptions {
  /** Venue per environment. `sim` orders only ever reach the simulator. */
  venues: Partial<Record<Order['env'], Venue>>;
  /** Called when an order reaches its venue (benchmarks measure latency with it). */
  onSubmit?: (order: Order) => void;
}

const eventBase = (o: Order) => `${o.intent_id}/order/${o.leg}/${o.attempt}`;

/** What the gateway keeps of a finished order: only that it must never be sent again. */
const FINISHED = 'finished';

export function gatewayStage(opts: GatewayOptions): Stage {
  // Live orders by client order id; a terminal order shrinks to FINISHED (terminal states absorb
  // every later event), so memory follows the open orders, not the whole history.
  const orders = new Map<string, OrderState | typeof FINISHED>();
  // The gateway owns these states: they are folded in place.
  const apply = (e: OrderFact) => {
    const coid = e.type === 'OrderRouted' ? e.data.order.client_order_id : 'client_order_id' in e.data ? e.data.client_order_id : undefined;
    if (coid === undefined) return;
    const s = orders.get(coid);
    if (s === FINISHED) return;
    const next = oms.evolveInPlace(s, e);
    if (next !== undefined) orders.set(coid, isTerminal(next.status) ? FINISHED : next);
  };

  let inTurn: Promise<unknown> = Promise.resolve();
  return {
    name: 'gateway',
    input: TOPICS.gateway,
    async restore(log: EventLog) {
      // Status events are folded from their headers; only routed orders and fills are parsed.
      await log.scan([TOPICS.gateway], (r) => apply(statusOf(r) ?? fromRecord(r)));
    },
    // One batch at a time, even when the consumer hands over several partitions' batches at once:
    // the next is decided after the venue answered this one (their commits still overlap).
    handle(batch: LogRecord[]): Promise<OutRecord[]> {
      const run = inTurn.then(() => decideBatch(batch));
      inTurn = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
  };

  async function decideBatch(batch: LogRecord[]): Promise<OutRecord[]> {
    const pending: { state: OrderState; causation: string; trace: string | undefined }[] = [];
    const queued = new Set<string>();
    for (const r of batch) {
      // Only routed orders are work; the gateway's own events were applied when it decided them,
      // so they are skipped by their type header, unparsed (a lagging gateway reads them from disk).
      const type = typeOf(r);
      if (type !== undefined && type !== 'OrderRouted') continue;
      const e = fromRecord(r);
      if (e.type !== 'OrderRouted') continue;
      const coid = e.data.order.client_order_id;
      apply(e);
      const s = orders.get(coid);
      if (s !== undefined && s !== FINISHED && s.status === 'NEW' && !queued.has(coid)) {
        queued.add(coid);
        pending.push({ state: s, causation: e.event_id, trace: traceOf(r) });
      }
    }
    if (pending.length === 0) return [];

    const results = new Map<string, VenueOrderResult>();
    for (const [env, venue] of Object.entries(opts.venues) as [Order['env'], Venue][]) {
      const mine = pending.filter((p) => p.state.order.env === env).map((p) => ({ ...p.state.order, ts: p.state.ts }));
      if (mine.length === 0) continue;
      for (const o of mine) opts.onSubmit?.(o);
      for (const res of await venue.submit(mine)) results.set(res.client_order_id, res);
    }

    const now = wallClockIso();
    const out: OutRecord[] = [];
    for (const p of pending) {
      const order = p.state.order;
      const envelope = { event_id: eventBase(order), causation: p.causation, recorded_at: now };
      const sent = results.get(order.client_order_id);
      // An order no gateway took was never sent: it goes from NEW straight to REJECTED.
      const command: OrderCommand = sent
        ? { kind: 'submitted', recovered: sent.recovered, reports: sent.reports, envelope }
        : { kind: 'reports', reports: noGateway(order, p.state.ts), envelope };
      const events = oms.decide(command, p.state);
      // An order whose last event ends it is kept as FINISHED, which is all the gateway keeps of
      // the fold of a finished order: its fills need no folding (most sim orders end in one batch).
      if (endsOrder(events[events.length - 1])) orders.set(order.client_order_id, FINISHED);
      else for (const e of events) apply(e);
      for (const e of events) out.push(toRecord(e, now, p.trace));
    }
    return out;
  }
}

/** A decided event after which the order is terminal (decided events are legal moves of its state). */
function endsOrder(e: OmsEvent | undefined): boolean {
  if (e === undefined) return false;
  if (e.type === 'OrderFilled') return e.data.status === 'FILLED';
  return e.type === 'OrderCanceled' || e.type === 'OrderRejected' || e.type === 'OrderExpired';
}

/** staging/prod orders with no venue gateway configured are rejected, never simulated. */
function noGateway(order: Order, ts: string): VenueReport[] {
  return [{ kind: 'REJECTED', code: 'NO_GATEWAY', reason: `no ${order.env} gateway is configured for ${order.venue}; only env "sim" orders can trade here`, ts }];
}
