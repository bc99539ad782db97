// Router adapter: approved intents in (exec.router), routed orders out (exec.gateway).
import { TOPICS } from '../domain/events.js';
import type { LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, traceOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { router } from './decide.js';

export function routerStage(opts: { market: MarketData }): Stage {
  let state = router.initialState();
  return {
    name: 'router',
    input: TOPICS.router,
    async restore() {},
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        const e = fromRecord(r);
        if (e.type === 'RiskApproved' || e.type === 'OrderChangeApproved') state = decideInto(router, state, { approved: e, market: opts.market }, out, now, traceOf(r));
      }
      return out;
    },
  };
}
