// Router adapter: approved intents in (exec.router), routed orders out (exec.gateway) with the
// routing decisions (exec.audit). The gateway's events are read beside them for the router's fold
// (venue standings, placement latencies, balances and the holds of routed orders).
import { TOPICS } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, traceOf, typeOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { router, type RouterSettings } from './decide.js';
import { restoreRouter, routerFactOf } from './inputs.js';
import { routerStateFor } from './state.js';

export const ROUTER_GROUP = 'router';

export function routerStage(opts: { market: MarketData; settings?: RouterSettings }): Stage {
  let state = routerStateFor(opts.market);
  return {
    name: ROUTER_GROUP,
    input: TOPICS.router,
    also: [TOPICS.gateway],
    async restore(log: EventLog) {
      state = await restoreRouter(log, ROUTER_GROUP, opts.market);
    },
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        if (r.topic === TOPICS.gateway) {
          const e = routerFactOf(r);
          if (e) state = router.evolveInPlace(state, e);
          continue;
        }
        const type = typeOf(r);
        if (type !== undefined && type !== 'RiskApproved' && type !== 'OrderChangeApproved') continue;
        const e = fromRecord(r);
        if (e.type === 'RiskApproved' || e.type === 'OrderChangeApproved')
          state = decideInto(router, state, { approved: e, market: opts.market, settings: opts.settings }, out, now, traceOf(r));
      }
      return out;
    },
  };
}
