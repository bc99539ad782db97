// Risk adapter: accepted intents and policy changes in (exec.risk), verdicts out (exec.router).
import { TOPICS } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { fromRecord, toRecord, traceOf, typeOf } from '../runtime/codec.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { decideRisk, evolveRisk, initialRiskState, type RiskState } from './decide.js';

export const RISK_GROUP = 'risk';

/** Policy events on exec.risk, told apart from accepted intents by the type header (no parse). */
export function isPolicyRecord(r: LogRecord): boolean {
  const type = typeOf(r);
  return type === 'RiskPolicySet' || (type === undefined && fromRecord(r).type === 'RiskPolicySet');
}

/** The policy in force for the risk stage: the fold of exec.risk up to its committed offset. */
async function restoreRiskState(log: EventLog): Promise<RiskState> {
  let state = initialRiskState();
  // Only the policies this stage already handled: a newer one takes effect in its turn.
  const upTo: number[] = [];
  for (let p = 0; p < log.partitions(TOPICS.risk); p++) upTo.push(await log.committed(RISK_GROUP, TOPICS.risk, p));
  await log.scan([TOPICS.risk], (r) => {
    if (r.offset < upTo[r.partition] && isPolicyRecord(r)) state = evolveRisk(state, fromRecord(r));
  });
  return state;
}

export function riskStage(): Stage {
  let state = initialRiskState();
  return {
    name: RISK_GROUP,
    input: TOPICS.risk,
    async restore(log: EventLog) {
      state = await restoreRiskState(log);
    },
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        const e = fromRecord(r);
        if (e.type === 'IntentAccepted') for (const d of decideRisk(state, e)) out.push(toRecord(d, now, traceOf(r)));
        else state = evolveRisk(state, e);
      }
      return out;
    },
  };
}
