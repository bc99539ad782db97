// Risk adapter: accepted intents, cancel/amend requests, policies and operator commands in
// (exec.risk); the gateway's order events read beside them for the fold (positions, open
// intents, flattens); verdicts, trading states and flattens out (exec.router).
import { TOPICS } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { fromRecord, typeOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { risk, type RiskState } from './decide.js';
import { ComplianceInForce, restoreRisk, riskInput, type RiskStageOptions } from './inputs.js';

export type { RiskStageOptions } from './inputs.js';

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
    if ((upTo === undefined || r.offset < upTo[r.partition]) && isPolicyRecord(r)) state = risk.evolveInPlace(state, fromRecord(r));
  });
  return state;
}

export function riskStage(o: RiskStageOptions): Stage {
  let state = risk.initialState();
  const compliance = o.compliance ?? new ComplianceInForce();
  const opts = { ...o, compliance };
  return {
    name: RISK_GROUP,
    input: TOPICS.risk,
    also: [TOPICS.gateway],
    async restore(log: EventLog) {
      const restored = await restoreRisk(log, RISK_GROUP);
      state = restored.state;
      if (restored.compliance) await compliance.apply(restored.compliance);
    },
    async handle(batch: LogRecord[]): Promise<OutRecord[]> {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      let settle: string | undefined;
      for (const r of batch) {
        const s = riskInput(state, r, out, now, opts);
        state = s.state;
        settle = s.settle ?? settle;
        if (s.compliance) await compliance.apply(s.compliance);
      }
      if (settle !== undefined) state = decideInto(risk, state, { kind: 'settle', ts: settle }, out, now, undefined);
      return out;
    },
  };
}
