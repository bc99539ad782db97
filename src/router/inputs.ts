// How the router reads the log, shared by the router stage and the fused decide stage: which
// gateway records it folds, and its restore (the fold of what it had consumed).
import { TOPICS, type Event } from '../domain/events.js';
import type { EventLog, LogRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, typeOf } from '../runtime/codec.js';
import { evolveRouter, isRouterFact, routerStateFor, type RouterState } from './state.js';

/** The event of a gateway record when the router folds it; undefined otherwise (unparsed when its type header says so). */
export function routerFactOf(r: LogRecord): Event | undefined {
  const type = (r.decoded as Event | undefined)?.type ?? typeOf(r);
  if (type !== undefined && !isRouterFact(type)) return undefined;
  const e = fromRecord(r);
  return isRouterFact(e.type) ? e : undefined;
}

/**
 * The router's fold of exec.gateway up to the group's committed offsets (what it had consumed);
 * a null group folds the whole topic.
 */
export async function restoreRouter(log: EventLog, group: string | null, market: MarketData): Promise<RouterState> {
  const state = routerStateFor(market);
  const upTo: number[] = [];
  for (let p = 0; p < log.partitions(TOPICS.gateway); p++) upTo.push(group === null ? Number.MAX_SAFE_INTEGER : await log.committed(group, TOPICS.gateway, p));
  await log.scan([TOPICS.gateway], (r) => {
    if (r.offset >= upTo[r.partition]) return;
    const e = routerFactOf(r);
    if (e) evolveRouter(state, e);
  });
  return state;
}
