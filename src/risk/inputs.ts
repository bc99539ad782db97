// How risk reads the log, shared by the risk stage and the fused decide stage: what it restores
// (its inputs up to the group's commits, everything it wrote, the gateway's order events it
// consumed) and what it does with each record it consumes.
import { TOPICS, type Event, type EventOf } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, traceOf, typeOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { isRiskEvent, risk, type CompliancePolicy, type RiskState } from './decide.js';
import { loadRegoPolicy, type RegoPolicy } from './rego.js';
import { isGatewayFact } from './state.js';

/** Records of exec.risk the risk fold reads (not the intents: those are decided, not folded). */
const RISK_INPUT_FACTS: ReadonlySet<string> = new Set(['RiskPolicySet', 'OperatorCommand']);

/**
 * The compliance (Rego) policy in force: the newest CompliancePolicySet consumed, loaded. One
 * that will not load is refused with the reason, and the one before stays in force.
 */
export class ComplianceInForce {
  private version = 0;
  private policy: RegoPolicy | undefined;

  constructor(private readonly say: (line: string) => void = (l) => process.stderr.write(`fillstream: ${l}\n`)) {}

  get current(): CompliancePolicy | undefined {
    return this.policy;
  }

  async apply(e: EventOf<'CompliancePolicySet'>): Promise<void> {
    if (e.data.version <= this.version) return;
    try {
      this.policy = await loadRegoPolicy({ wasm: Buffer.from(e.data.wasm_base64, 'base64'), data: e.data.data, hash: e.data.hash });
      this.version = e.data.version;
    } catch (err) {
      this.say(`compliance policy version ${e.data.version} (${e.data.hash.slice(0, 12)}) refused, the one before stays in force: ${(err as Error).message}`);
    }
  }
}

/**
 * Rebuild risk's state: the policies and operator commands it consumed (exec.risk up to its
 * committed offsets), every event risk wrote (exec.router: all of them came from consumed input),
 * then the gateway's order events it consumed (exec.gateway up to its committed offsets). In this
 * order, so an order event finds the approval it belongs to. A null group folds the whole log.
 */
export async function restoreRisk(
  log: EventLog,
  group: string | null,
  o: {
    policiesLogged?: boolean;
    /** Another fold of the same consumed gateway records (the fused stage's router and chains): one read of the topic for both. */
    alsoGateway?: (r: LogRecord) => void;
  } = {},
): Promise<{ state: RiskState; compliance?: EventOf<'CompliancePolicySet'> }> {
  const into = risk.initialState();
  let state = into;
  let compliance: EventOf<'CompliancePolicySet'> | undefined;
  const committed = async (topic: string): Promise<number[]> => {
    const upTo: number[] = [];
    // No group: everything in the log now (an inspection, not a stage's restore).
    for (let p = 0; p < log.partitions(topic); p++) upTo.push(group === null ? Number.MAX_SAFE_INTEGER : await log.committed(group, topic, p));
    return upTo;
  };
  const riskUpTo = await committed(TOPICS.risk);
  const gatewayUpTo = await committed(TOPICS.gateway);
  const fold = (accept: (type: string) => boolean, upTo?: readonly number[]) => (r: LogRecord) => {
    if (upTo && r.offset >= upTo[r.partition]) return;
    const type = typeOf(r);
    if (type !== undefined && !accept(type)) return;
    const e = fromRecord(r);
    if (accept(e.type)) state = risk.evolveInPlace(state, e);
  };
  const takeInput = fold((t) => RISK_INPUT_FACTS.has(t), riskUpTo);
  // The fused stage reads exec.risk beside intents that come on another topic: a policy is in
  // force from when it is logged, not from when that stage happens to read it.
  const takePolicy = fold((t) => t === 'RiskPolicySet');
  await log.scan([TOPICS.risk], (r) => {
    if (o.policiesLogged && typeOf(r) === 'RiskPolicySet') return takePolicy(r);
    if ((o.policiesLogged || r.offset < riskUpTo[r.partition]) && typeOf(r) === 'CompliancePolicySet') {
      const e = fromRecord(r);
      if (e.type === 'CompliancePolicySet' && e.data.version > (compliance?.data.version ?? 0)) compliance = e;
      return;
    }
    takeInput(r);
  });
  await log.scan(
    [TOPICS.router],
    fold((t) => isRiskEvent({ type: t })),
  );
  const takeOrderEvent = fold(isGatewayFact, gatewayUpTo);
  const also = o.alsoGateway;
  await log.scan(
    [TOPICS.gateway],
    also === undefined
      ? takeOrderEvent
      : (r) => {
          takeOrderEvent(r);
          if (r.offset < gatewayUpTo[r.partition]) also(r);
        },
  );
  return compliance ? { state, compliance } : { state };
}

export interface RiskStageOptions {
  market: MarketData;
  /** The Rego compliance policy in force, if any (the stage keeps it up to date). */
  compliance?: ComplianceInForce;
  /** The fused stage: intents and changes on exec.risk are its own outputs, already decided. */
  skipAccepted?: boolean;
}

/**
 * One record for risk: on exec.gateway, an order event to fold (settle: flattens may have ended);
 * on exec.risk, an intent, change or command to decide, or a policy to fold. Risk's own events
 * coming round (the fused stage reads exec.risk) are skipped.
 */
export function riskInput(
  state: RiskState,
  r: LogRecord,
  out: OutRecord[],
  now: string,
  o: RiskStageOptions,
): { state: RiskState; settle?: string; compliance?: EventOf<'CompliancePolicySet'> } {
  if (r.topic === TOPICS.gateway) {
    // The fold only: most of the gateway's events are not risk's business. A record this process
    // wrote still has its event: its type is read there, not from headers decoded for it.
    const type = (r.decoded as Event | undefined)?.type ?? typeOf(r);
    if (type !== undefined && !isGatewayFact(type)) return { state };
    const e = fromRecord(r);
    if (!isGatewayFact(e.type)) return { state };
    const next = risk.evolveInPlace(state, e);
    return next.flattens.size > 0 ? { state: next, settle: e.ts } : { state: next };
  }
  if (o.skipAccepted && typeOf(r) === 'IntentAccepted') return { state };
  const e = fromRecord(r);
  // Loading a bundle is asynchronous: the caller puts it in force before the next record.
  if (e.type === 'CompliancePolicySet') return { state, compliance: e };
  return { state: decideOn(state, e, out, now, traceOf(r), o) };
}

function decideOn(state: RiskState, e: Event, out: OutRecord[], now: string, trace: string | undefined, o: RiskStageOptions): RiskState {
  if (o.skipAccepted && (e.type === 'IntentAccepted' || e.type === 'OrderChangeRequested' || e.type === 'ChainRequested')) return state;
  switch (e.type) {
    case 'IntentAccepted':
      return decideInto(risk, state, { kind: 'assess', intent: e, market: o.market, compliance: o.compliance?.current }, out, now, trace);
    case 'OrderChangeRequested':
      return decideInto(risk, state, { kind: 'change', request: e }, out, now, trace);
    case 'ChainRequested':
      return decideInto(risk, state, { kind: 'chain', request: e }, out, now, trace);
    case 'OperatorCommand': {
      const s = decideInto(risk, state, { kind: 'operator', command: e, market: o.market, compliance: o.compliance?.current }, out, now, trace);
      return risk.evolveInPlace(s, e);
    }
    case 'RiskPolicySet':
      return risk.evolveInPlace(state, e);
    default:
      return state;
  }
}
