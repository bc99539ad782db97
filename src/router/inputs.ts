// How the router and the chain decider read the log, shared by the router stage and the fused
// decide stage: which gateway records they fold, what a chain leg's order ending sets off, and
// their restore (the fold of what the stage had consumed).
import { chains, CHAIN_FACTS, DEFAULT_CHAIN_SETTINGS, type ChainCommandInput, type ChainSettings, type ChainsState } from '../chains/decide.js';
import { TOPICS, type Event } from '../domain/events.js';
import { nowMicros } from '../domain/time.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, toRecord, traceOf, typeOf } from '../runtime/codec.js';
import { router } from './decide.js';
import { evolveRouter, isRouterFact, routerStateFor, type RouterState } from './state.js';

/** What the routing stages keep: the router's fold and the chains in flight. */
export interface RoutingState {
  router: RouterState;
  chains: ChainsState;
}

const isRoutingFact = (type: string): boolean => isRouterFact(type) || CHAIN_FACTS.has(type);

/** The event of a gateway record when the router or the chain decider folds it; undefined otherwise (unparsed when its type header says so). */
export function routerFactOf(r: LogRecord): Event | undefined {
  const type = (r.decoded as Event | undefined)?.type ?? typeOf(r);
  if (type !== undefined && !isRoutingFact(type)) return undefined;
  const e = fromRecord(r);
  return isRoutingFact(e.type) ? e : undefined;
}

/** An empty routing state and the fold of one gateway record into it (a restore hands it the records it consumed). */
export function routingFold(market: MarketData, settings: ChainSettings = DEFAULT_CHAIN_SETTINGS): { state: RoutingState; take: (r: LogRecord) => void } {
  const state: RoutingState = { router: routerStateFor(market), chains: chains.initialState(settings) };
  return {
    state,
    take: (r) => {
      const e = routerFactOf(r);
      if (!e) return;
      evolveRouter(state.router, e);
      chains.evolveInPlace(state.chains, e);
    },
  };
}

/**
 * The router's and the chains' fold of exec.gateway up to the group's committed offsets (what the
 * stage had consumed); a null group folds the whole topic.
 */
export async function restoreRouting(log: EventLog, group: string | null, market: MarketData, settings: ChainSettings = DEFAULT_CHAIN_SETTINGS): Promise<RoutingState> {
  const f = routingFold(market, settings);
  const upTo: number[] = [];
  for (let p = 0; p < log.partitions(TOPICS.gateway); p++) upTo.push(group === null ? Number.MAX_SAFE_INTEGER : await log.committed(group, TOPICS.gateway, p));
  await log.scan([TOPICS.gateway], (r) => {
    if (r.offset < upTo[r.partition]) f.take(r);
  });
  return f.state;
}

/** A chain decision: its events folded into both states and written. */
export function stepChains(st: RoutingState, cmd: ChainCommandInput, out: OutRecord[], now: string, trace: string | undefined): void {
  for (const e of chains.decide(cmd, st.chains)) {
    st.chains = chains.evolveInPlace(st.chains, e);
    st.router = router.evolveInPlace(st.router, e);
    out.push(toRecord(e, now, trace));
  }
}

/**
 * A gateway record: folded by the router and the chain decider; when it ends a chain leg's order,
 * or answers a chain's balance wait or order test, the chain goes on (its next leg) or ends (its report). Returns the event when it was parsed.
 */
export function routingInput(st: RoutingState, r: LogRecord, out: OutRecord[], now: string, market: MarketData): Event | undefined {
  const e = routerFactOf(r);
  if (!e) return undefined;
  st.router = router.evolveInPlace(st.router, e);
  st.chains = chains.evolveInPlace(st.chains, e);
  if ((e.type === 'OrderFilled' || e.type === 'OrderCanceled' || e.type === 'OrderRejected' || e.type === 'OrderExpired') && st.chains.byOrder.has(e.data.client_order_id))
    stepChains(st, { kind: 'order', event: e, market, now_us: nowMicros() }, out, now, traceOf(r));
  else if (e.type === 'ChainBalanceSeen' && st.chains.inflight.has(e.intent_id)) stepChains(st, { kind: 'balance', event: e, market, now_us: nowMicros() }, out, now, traceOf(r));
  else if (e.type === 'OrderTested' && st.chains.inflight.has(e.intent_id)) stepChains(st, { kind: 'tested', event: e, market, now_us: nowMicros() }, out, now, traceOf(r));
  return e;
}
