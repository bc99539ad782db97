// Gateway adapter: routed orders, cancels and amends in, venue answers through the OMS decider,
// order events out. exec.gateway is both its input and its output: the gateway folds the whole
// topic on start, so an order it already handled is never sent twice. Live venues answer some
// things later: their reports come back on exec.gateway as VenueReportReceived (gateway/live.ts)
// and are decided here like any input.
import { TOPICS, type Event, type EventOf, type Order, type VenueReport } from '../domain/events.js';
import { dec } from '../domain/decimal.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { isTerminal, oms, type EnvelopeSeed, type OmsEvent, type OrderCommand, type OrderFact, type OrderState } from '../oms/order.js';
import { fromRecord, statusOf, toRecord, traceOf, typeOf } from '../runtime/codec.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import type { Venue, VenueAnswer, VenueOrderResult } from '../venues/types.js';
import { microsToIso, nowMicros } from '../domain/time.js';
import { BalanceWaits, orderTested } from './chain-requests.js';
import { liveKey, roundMs, type GatewayPortView, type LiveVenue } from './live.js';
import { type LiveSession } from './session.js';

export interface GatewayOptions {
  /** The simulator, for `sim` orders (they never reach a live venue). */
  venues: Partial<Record<Order['env'], Venue>>;
  /** Live venues (staging, prod), each with its own credentials; started once per process. */
  live?: LiveSession;
  /** Called when an order reaches its venue (benchmarks measure latency with it). */
  onSubmit?: (order: Order) => void;
  /** Metrics: each order as it is sent (with the wall time since its routed record was appended) and as its answer comes. */
  observe?: { submitted(order: Order, sinceRoutedSeconds: number): void; answered(order: Order, seconds: number, outcome: VenueAnswer['kind']): void };
}

export const eventBase = (o: Order) => `${o.intent_id}/order/${o.leg}/${o.attempt}`;

/** What the gateway keeps of a finished order: only that it must never be sent again. */
const FINISHED = 'finished';

/** Order facts: everything the OMS folds. */
const ORDER_TYPES: ReadonlySet<string> = new Set([
  'OrderRouted',
  'OrderSubmitted',
  'OrderUnknown',
  'OrderAcked',
  'OrderAmended',
  'OrderFilled',
  'OrderCanceled',
  'OrderRejected',
  'OrderExpired',
]);

/** What the gateway keeps beside a live order's state. */
interface OrderMeta {
  partition: number;
  /** The size risk approved: an amend may not go above it. */
  routed_qty: string;
}

interface Pending {
  state: OrderState;
  causation: string;
  trace: string | undefined;
  /** Event id base of what is decided (the routed order's, or the input's for a re-send). */
  base: string;
  /** Wall ms its input record was appended (the intent decided and routed). */
  routedMs: number;
}

export function gatewayStage(opts: GatewayOptions): Stage {
  // Live orders by client order id; a terminal order shrinks to FINISHED (terminal states absorb
  // every later event), so memory follows the open orders, not the whole history.
  const orders = new Map<string, OrderState | typeof FINISHED>();
  const meta = new Map<string, OrderMeta>();
  /** Live orders' client order ids by intent, for cancels and amends. */
  const byIntent = new Map<string, string[]>();
  /** Venues halted or quarantined, by env:VENUE. */
  const standing = new Map<string, { halted?: string; quarantined?: string }>();
  /** Live-venue orders found NEW on restore: a previous process may have sent them, so the venue is asked first. */
  const possiblySent = new Set<string>();
  const live = opts.live;
  /** Open orders on live venues, by env:VENUE: what the live session watches. */
  const liveOpen = new Map<string, Set<string>>();
  /** Chains' balance waits not answered yet: a restore resumes them. */
  const waits = new BalanceWaits(live);

  const finish = (coid: string) => {
    const s = orders.get(coid);
    if (s !== undefined && s !== FINISHED && s.order.env !== 'sim') liveOpen.get(liveKey(s.order.env, s.order.venue))?.delete(coid);
    orders.set(coid, FINISHED);
    meta.delete(coid);
  };

  // The gateway owns these states: they are folded in place.
  const apply = (e: OrderFact, partition: number) => {
    const routed = e.type === 'OrderRouted' ? e.data.order : undefined;
    const coid = routed ? routed.client_order_id : 'client_order_id' in e.data ? e.data.client_order_id : undefined;
    if (coid === undefined) return;
    const s = orders.get(coid);
    if (s === FINISHED) return;
    const next = oms.evolveInPlace(s, e);
    if (next === undefined) return;
    if (isTerminal(next.status)) {
      finish(coid);
      return;
    }
    orders.set(coid, next);
    if (routed && s === undefined) {
      meta.set(coid, { partition, routed_qty: routed.qty });
      if (routed.env !== 'sim') {
        const key = liveKey(routed.env, routed.venue);
        const set = liveOpen.get(key) ?? new Set<string>();
        liveOpen.set(key, set.add(coid));
      }
      const ids = byIntent.get(routed.intent_id);
      if (ids) ids.push(coid);
      else byIntent.set(routed.intent_id, [coid]);
    }
  };

  const applyStanding = (e: Event) => {
    if (!('venue' in e.data) || !('env' in e.data) || e.data.env === undefined) return;
    const key = liveKey(e.data.env, e.data.venue);
    const s = standing.get(key) ?? {};
    if (e.type === 'VenueHalted') s.halted = e.data.reason;
    else if (e.type === 'VenueResumed') {
      delete s.halted;
      live?.resume(e.data.env, e.data.venue);
    } else if (e.type === 'AccountQuarantined') s.quarantined ??= e.data.reason;
    else if (e.type === 'QuarantineCleared') delete s.quarantined;
    else return;
    standing.set(key, s);
  };

  const port: GatewayPortView = {
    orderOf(coid: string) {
      const s = orders.get(coid);
      if (s === undefined) return undefined;
      if (s === FINISHED) return { finished: true as const };
      return { state: s, partition: meta.get(coid)?.partition ?? 0 };
    },
    liveOrders(env: string, venue: string): OrderState[] {
      const out: OrderState[] = [];
      for (const coid of liveOpen.get(liveKey(env, venue)) ?? []) {
        const s = orders.get(coid);
        if (s !== undefined && s !== FINISHED) out.push(s);
      }
      return out;
    },
  };

  let inTurn: Promise<unknown> = Promise.resolve();
  return {
    name: 'gateway',
    input: TOPICS.gateway,
    standing: () => standing,
    async restore(log: EventLog) {
      // Status events are folded from their headers; only routed orders and fills are parsed.
      await log.scan([TOPICS.gateway], (r) => {
        const st = statusOf(r);
        if (st) return apply(st, r.partition);
        const type = typeOf(r);
        if (type !== undefined && !ORDER_TYPES.has(type) && !isStandingType(type) && !isWaitType(type)) return;
        const e = fromRecord(r);
        if (ORDER_TYPES.has(e.type)) apply(e, r.partition);
        else if (e.type === 'ChainBalanceAwaited' || e.type === 'ChainBalanceSeen') waits.note(e, r.partition);
        else applyStanding(e);
      });
      if (live) {
        for (const [coid, s] of orders) if (s !== FINISHED && s.status === 'NEW' && live.serves(s.order)) possiblySent.add(coid);
        await live.attach(log, port);
      }
      // Waits a previous process took on and never answered go on (or are answered: no gateway now).
      const unanswered = waits.resume();
      if (unanswered.length > 0) await log.append(unanswered);
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
    let pending: Pending[] = [];
    const queued = new Set<string>();
    const out: OutRecord[] = [];
    const now = wallClockIso();
    // Placements are sent together; anything else about an order waits until those before it in
    // the batch are placed, so it sees them as the venue answered.
    const flush = async () => {
      if (pending.length === 0) return;
      for (const rec of await place(pending, now)) out.push(rec);
      pending = [];
    };
    for (const r of batch) {
      // The gateway's own order events were applied when it decided them: skipped by their type
      // header, unparsed (a lagging gateway reads them from disk).
      const type = typeOf(r);
      if (type !== undefined && type !== 'OrderRouted' && !INPUT_TYPES.has(type)) continue;
      const e = fromRecord(r);
      if (e.type !== 'OrderRouted') await flush();
      switch (e.type) {
        case 'OrderRouted': {
          const coid = e.data.order.client_order_id;
          apply(e, r.partition);
          const s = orders.get(coid);
          if (s !== undefined && s !== FINISHED && s.status === 'NEW' && !queued.has(coid)) {
            queued.add(coid);
            pending.push({ state: s, causation: e.event_id, trace: traceOf(r), base: eventBase(s.order), routedMs: r.timestamp });
          }
          break;
        }
        case 'VenueOrderMissing': {
          // Asked after the venue's own deadline and not there: it was never placed, so it is sent again (once per missing report).
          const s = orders.get(e.data.client_order_id);
          if (s !== undefined && s !== FINISHED && s.status === 'UNKNOWN' && !queued.has(s.order.client_order_id)) {
            queued.add(s.order.client_order_id);
            pending.push({ state: s, causation: e.event_id, trace: traceOf(r), base: e.event_id, routedMs: r.timestamp });
          }
          break;
        }
        case 'VenueReportReceived': {
          const s = orders.get(e.data.client_order_id);
          if (s === undefined || s === FINISHED) break;
          const envelope = { event_id: e.event_id, causation: e.event_id, recorded_at: now };
          emit(oms.decide({ kind: 'reports', reports: [e.data.report], envelope }, s), out, now, traceOf(r));
          break;
        }
        case 'OrderChangeRouted':
          for (const rec of await decideChange(e, now, traceOf(r))) out.push(rec);
          break;
        case 'OrderTestRequested': {
          const lv = live?.venueFor(e.data.order);
          const halted = lv ? standing.get(liveKey(lv.env, lv.venue))?.halted : undefined;
          out.push(toRecord(await orderTested(e, lv, halted), now, traceOf(r)));
          break;
        }
        case 'ChainBalanceAwaited': {
          waits.note(e, r.partition);
          const answered = waits.start(e, r.partition);
          if (answered) out.push(answered);
          break;
        }
        case 'ChainBalanceSeen':
          waits.note(e, r.partition);
          break;
        default:
          applyStanding(e);
      }
    }
    await flush();
    return out;
  }

  /** Decided events: applied to the fold and written. */
  function emit(events: OmsEvent[], out: OutRecord[], now: string, trace: string | undefined): void {
    for (const e of events) {
      apply(e, 0);
      out.push(toRecord(e, now, trace));
    }
  }

  async function place(pending: Pending[], now: string): Promise<OutRecord[]> {
    const out: OutRecord[] = [];
    const results = new Map<string, VenueOrderResult>();
    // How long each env's batch took to be answered: each of its orders' placement round trip.
    const batchLatency = new Map<string, number>();
    // The simulator takes a batch at once and answers every order in it.
    for (const [env, venue] of Object.entries(opts.venues) as [Order['env'], Venue][]) {
      const sending = pending.filter((p) => p.state.order.env === env && !live?.serves(p.state.order));
      const mine = sending.map((p) => ({ ...p.state.order, ts: p.state.ts }));
      if (mine.length === 0) continue;
      for (const o of mine) opts.onSubmit?.(o);
      const ob = opts.observe;
      const t0 = ob ? performance.now() : 0;
      if (ob) for (const p of sending) ob.submitted(p.state.order, (Date.now() - p.routedMs) / 1000);
      const sentAt = performance.now();
      for (const res of await venue.submit(mine)) results.set(res.client_order_id, res);
      batchLatency.set(env, roundMs(performance.now() - sentAt));
      if (ob) for (const p of sending) ob.answered(p.state.order, (performance.now() - t0) / 1000, 'answered');
    }
    // Live venues: each order on its own, all at once; answers decided in input order.
    const answers = await Promise.all(pending.map((p) => (live?.serves(p.state.order) ? placeLive(p) : undefined)));
    pending.forEach((p, i) => {
      const order = p.state.order;
      const envelope: EnvelopeSeed = { event_id: p.base, causation: p.causation, recorded_at: now };
      const answer = answers[i];
      const sent = results.get(order.client_order_id);
      let command: OrderCommand;
      if (answer) command = answer.command(envelope);
      else if (sent) command = { kind: 'submitted', recovered: sent.recovered, reports: sent.reports, envelope, latency_ms: batchLatency.get(order.env) };
      // An order no gateway took was never sent: it goes from NEW straight to REJECTED.
      else command = { kind: 'reports', reports: noGateway(order, p.state.ts), envelope };
      if (answer?.halted) out.push(answer.halted);
      const events = oms.decide(command, p.state);
      // An order whose last event ends it is kept as FINISHED, which is all the gateway keeps of
      // the fold of a finished order: its fills need no folding (most sim orders end in one batch).
      if (endsOrder(events[events.length - 1])) finish(order.client_order_id);
      else for (const e of events) apply(e, 0);
      for (const e of events) out.push(toRecord(e, now, p.trace));
    });
    return out;
  }

  /** One order to a live venue, after checking it may go there; what to decide on its answer. */
  async function placeLive(p: Pending): Promise<{ command: (envelope: EnvelopeSeed) => OrderCommand; halted?: OutRecord }> {
    const order = p.state.order;
    const lv = live!.venueFor(order)!;
    const stand = standing.get(liveKey(lv.env, lv.venue));
    const refuse = (code: string, reason: string) => ({
      command: (envelope: EnvelopeSeed): OrderCommand => ({ kind: 'reports', reports: [{ kind: 'REJECTED', code, reason, ts: p.state.ts }], envelope }),
    });
    if (stand?.halted) return refuse('VENUE_HALTED', `${lv.venue} (${lv.env}) is halted: ${stand.halted}; an operator resumes it`);
    if (stand?.quarantined) return refuse('QUARANTINED', `account ${lv.account} on ${lv.venue} (${lv.env}) is in quarantine: ${stand.quarantined}; an operator clears it`);
    const coid = order.client_order_id;
    if (possiblySent.delete(coid)) {
      // A previous process may have sent it: the venue is asked before anything is sent.
      try {
        const found = await lv.adapter.query({ client_order_id: coid, instrument_id: order.instrument_id, symbol: order.symbol });
        if (found) return { command: (envelope) => ({ kind: 'submitted', recovered: true, reports: found.reports, envelope }) };
      } catch (e) {
        const reason = `could not ask ${lv.venue} whether a previous run placed it: ${(e as Error).message}`;
        return { command: (envelope) => ({ kind: 'no_answer', reason, envelope }) };
      }
    }
    opts.onSubmit?.(order);
    opts.observe?.submitted(order, (Date.now() - p.routedMs) / 1000);
    const t0 = performance.now();
    const answer = await lv.adapter.place(order, p.state.ts);
    const took = performance.now() - t0;
    opts.observe?.answered(order, took / 1000, answer.kind);
    return fromAnswer(lv, order, answer, roundMs(took));
  }

  function fromAnswer(lv: LiveVenue, order: Order, answer: VenueAnswer, latencyMs: number): { command: (envelope: EnvelopeSeed) => OrderCommand; halted?: OutRecord } {
    switch (answer.kind) {
      case 'answered':
        return { command: (envelope) => ({ kind: 'submitted', recovered: answer.recovered ?? false, reports: answer.reports, envelope, latency_ms: latencyMs }) };
      case 'unknown':
        return { command: (envelope) => ({ kind: 'no_answer', reason: answer.reason, envelope }) };
      case 'halted': {
        const ts = microsToIso(nowMicros());
        const halted = live!.halted(lv, answer.reason);
        const reports: VenueReport[] = [
          { kind: 'REJECTED', code: 'VENUE_HALTED', reason: `${lv.venue} refused to serve us: ${answer.reason}; nothing more is sent there until an operator resumes it`, ts },
        ];
        applyStanding(halted.decoded as Event);
        return { command: (envelope) => ({ kind: 'reports', reports, envelope }), halted };
      }
    }
  }

  /** A cancel or amend of an intent's live orders. */
  async function decideChange(e: EventOf<'OrderChangeRouted'>, now: string, trace: string | undefined): Promise<OutRecord[]> {
    const req = e.data.request;
    const out: OutRecord[] = [];
    const targets = (byIntent.get(req.target_intent_id) ?? []).map((id) => orders.get(id)).filter((s): s is OrderState => s !== undefined && s !== FINISHED);
    const refused = (code: string, reason: string, coid?: string) =>
      out.push(
        toRecord(
          {
            event_id: `${e.event_id}/${coid ?? 'none'}/refused`,
            type: 'OrderChangeRejected',
            intent_id: e.intent_id,
            account: e.account,
            strategy: e.strategy,
            ts: e.ts,
            causation: e.event_id,
            recorded_at: now,
            data: { ...(coid ? { client_order_id: coid } : {}), kind: req.kind, code, reason },
          },
          now,
          trace,
        ),
      );
    if (targets.length === 0) {
      refused('NO_LIVE_ORDER', `intent ${req.target_intent_id} has no live order to ${req.kind} (unknown, or every order of it is closed)`);
      return out;
    }
    for (const s of targets) {
      const order = s.order;
      const envelope: EnvelopeSeed = { event_id: `${e.event_id}/${order.client_order_id}`, causation: e.event_id, recorded_at: now, ts: e.ts };
      if (req.kind === 'amend' && req.qty !== undefined && dec(req.qty).gt(dec(meta.get(order.client_order_id)?.routed_qty ?? order.qty))) {
        refused(
          'AMEND_INCREASES_SIZE',
          `amend to ${req.qty} is above the ${meta.get(order.client_order_id)?.routed_qty} risk approved; send a new intent for more`,
          order.client_order_id,
        );
        continue;
      }
      const answer = await changeOnVenue(s, req, e.ts);
      if (answer.kind !== 'answered') {
        refused(
          answer.kind === 'halted' ? 'VENUE_HALTED' : 'NO_ANSWER',
          `${order.venue} gave no answer to the ${req.kind}: ${answer.reason}; the order is queried`,
          order.client_order_id,
        );
        if (answer.kind === 'unknown') live?.queryLater(order);
        continue;
      }
      const rejected = answer.reports.find((r) => r.kind === 'REJECTED');
      if (rejected && rejected.kind === 'REJECTED') {
        refused(rejected.code, rejected.reason, order.client_order_id);
        continue;
      }
      emit(oms.decide({ kind: 'reports', reports: answer.reports, envelope }, s), out, now, trace);
    }
    return out;
  }

  /** Sim orders are canceled and amended here (nothing rests in the simulator's book); live ones on their venue. */
  async function changeOnVenue(s: OrderState, req: EventOf<'OrderChangeRouted'>['data']['request'], ts: string): Promise<VenueAnswer> {
    const order = s.order;
    const lv = live?.venueFor(order);
    if (!lv) {
      if (s.status === 'NEW' || s.status === 'SUBMITTED' || s.status === 'UNKNOWN')
        return { kind: 'answered', reports: [{ kind: 'REJECTED', code: 'NOT_ACKED', reason: `order is ${s.status}`, ts }] };
      if (req.kind === 'cancel') return { kind: 'answered', reports: [{ kind: 'CANCELED', reason: 'canceled by request', ts }] };
      return {
        kind: 'answered',
        reports: [
          {
            kind: 'AMENDED',
            venue_order_id: s.venue_order_id ?? '',
            qty: req.qty ?? order.qty,
            ...((req.limit_price ?? order.limit_price) ? { limit_price: req.limit_price ?? order.limit_price } : {}),
            ts,
          },
        ],
      };
    }
    const ref = {
      client_order_id: order.client_order_id,
      instrument_id: order.instrument_id,
      symbol: order.symbol,
      ...(s.venue_order_id ? { venue_order_id: s.venue_order_id } : {}),
    };
    if (req.kind === 'cancel') return lv.adapter.cancel(ref, ts);
    return lv.adapter.amend(
      { ...ref, filled_qty: s.filled_qty, order },
      { ...(req.qty ? { qty: req.qty } : {}), ...(req.limit_price ? { limit_price: req.limit_price } : {}) },
      ts,
    );
  }
}

/** Inputs the gateway decides on besides routed orders (their type header says so). */
const INPUT_TYPES: ReadonlySet<string> = new Set([
  'OrderChangeRouted',
  'VenueReportReceived',
  'VenueOrderMissing',
  'VenueHalted',
  'VenueResumed',
  'AccountQuarantined',
  'QuarantineCleared',
  'OrderTestRequested',
  'ChainBalanceAwaited',
  'ChainBalanceSeen',
]);

const isWaitType = (t: string) => t === 'ChainBalanceAwaited' || t === 'ChainBalanceSeen';

const isStandingType = (t: string) => t === 'VenueHalted' || t === 'VenueResumed' || t === 'AccountQuarantined' || t === 'QuarantineCleared';

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
