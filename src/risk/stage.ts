// Risk adapter: accepted intents and policy changes in (exec.risk), verdicts out (exec.router).
import { TOPICS, type EventOf } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { fromRecord, traceOf, typeOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { risk, type RiskState } from './decide.js';

export const RISK_GROUP = 'risk';

/** Policy events on exec.risk, told apart from accepted intents by the type header (no parse). */
export function isPolicyRecord(r: LogRecord): boolean {
  const type = typeOf(r);
  return type === 'RiskPolicySet' || (type === undefined && fromRecord(r).type === 'RiskPolicySet');
}

/** The fold of the policies on exec.risk, each partition up to `upTo` (default: its end). */
export async function policiesInLog(log: EventLog, upTo?: readonly number[]): Promise<RiskState> {
  let state = risk.initialState();
  await log.scan([TOPICS.risk], (r) => {
    if ((upTo === undefined || r.offset < upTo[r.partition]) && isPolicyRecord(r)) state = risk.evolve(state, fromRecord(r) as EventOf<'RiskPolicySet'>);
  });
  return state;
}

export function riskStage(): Stage {
  let state = risk.initialState();
  return {
    name: RISK_GROUP,
    input: TOPICS.risk,
    async restore(log: EventLog) {
      // Only the policies this stage already handled: a newer one takes effect in its turn.
      const upTo: number[] = [];
      for (let p = 0; p < log.partitions(TOPICS.risk); p++) upTo.push(await log.committed(RISK_GROUP, TOPICS.risk, p));
      state = await policiesInLog(log, upTo);
    },
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        const e = fromRecord(r);
        if (e.type === 'IntentAccepted') state = decideInto(risk, state, { kind: 'assess', intent: e }, out, now, traceOf(r));
        else if (e.type === 'OrderChangeRequested') state = decideInto(risk, state, { kind: 'change', request: e }, out, now, traceOf(r));
        else if (e.type === 'RiskPolicySet') state = risk.evolve(state, e);
      }
      return out;
    },
  };
}
