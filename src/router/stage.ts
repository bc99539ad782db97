// Router adapter: approved intents and chains in (exec.router); routed orders, chain events and
// routing decisions out (exec.gateway, exec.audit). The gateway's events are read beside them for
// the router's fold (venue standings, latencies, balances, holds) and to move chains from leg to leg.
import type { ChainSettings } from '../chains/decide.js';
import { TOPICS } from '../domain/events.js';
import { nowMicros } from '../domain/time.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, traceOf, typeOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { router, type RouterSettings } from './decide.js';
import { stepChains, restoreRouting, routingInput, type RoutingState } from './inputs.js';
import { routerStateFor } from './state.js';
import { chains } from '../chains/decide.js';

export const ROUTER_GROUP = 'router';

export function routerStage(opts: { market: MarketData; settings?: RouterSettings; chains?: ChainSettings }): Stage {
  let st: RoutingState = { router: routerStateFor(opts.market), chains: chains.initialState(opts.chains) };
  return {
    name: ROUTER_GROUP,
    input: TOPICS.router,
    also: [TOPICS.gateway],
    async restore(log: EventLog) {
      st = await restoreRouting(log, ROUTER_GROUP, opts.market, opts.chains);
    },
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        if (r.topic === TOPICS.gateway) {
          routingInput(st, r, out, now, opts.market);
          continue;
        }
        const type = typeOf(r);
        if (type !== undefined && type !== 'RiskApproved' && type !== 'OrderChangeApproved' && type !== 'ChainApproved') continue;
        const e = fromRecord(r);
        if (e.type === 'ChainApproved') stepChains(st, { kind: 'request', event: e, market: opts.market, now_us: nowMicros() }, out, now, traceOf(r));
        else if (e.type === 'RiskApproved' || e.type === 'OrderChangeApproved')
          st.router = decideInto(router, st.router, { approved: e, market: opts.market, settings: opts.settings }, out, now, traceOf(r));
      }
      return out;
    },
  };
}
