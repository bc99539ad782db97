// Router adapter: approved intents in (exec.router), routed orders out (exec.gateway). Stateless.
import { TOPICS } from '../domain/events.js';
import type { LogRecord, OutRecord } from '../log/types.js';
import { fromRecord, toRecord, traceOf } from '../runtime/codec.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { decideRoute, type RouterContext } from './decide.js';

export function routerStage(ctx: RouterContext): Stage {
  return {
    name: 'router',
    input: TOPICS.router,
    async restore() {},
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        const e = fromRecord(r);
        if (e.type === 'RiskApproved') for (const d of decideRoute(e, ctx)) out.push(toRecord(d, now, traceOf(r)));
      }
      return out;
    },
  };
}
