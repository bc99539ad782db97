// The fused pre-trade stage: raw intents in (exec.intents); accepted intents, verdicts and routed
// orders out (exec.risk, exec.router, exec.gateway, with duplicates and dead letters), all with the
// input's offsets in one commit. It writes what the normalizer, risk and router stages write, so
// everything downstream (gateway, projections, audit, replay) reads the same topics; it stands in
// for those three stages, never beside them.
import { TOPICS, type Event } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, HEADER_INTENT_ID, HEADER_TRACEPARENT, toRecord, traceOf, typeOf } from '../runtime/codec.js';
import { forwardedIntent, intentPlacement } from '../runtime/forward.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { normalizeCommand, placementOf, type IntentPlacement } from '../normalizer/decide.js';
import { risk } from '../risk/decide.js';
import { ComplianceInForce, restoreRisk, riskInput } from '../risk/inputs.js';
import { decideInto } from '../runtime/decide-into.js';
import { router, type RouterSettings } from '../router/decide.js';
import { routingFold, routingInput } from '../router/inputs.js';
import { nowMicros } from '../domain/time.js';
import type { ChainSettings } from '../chains/decide.js';
import { pretrade, type PretradeCommand } from './decide.js';

export const DECIDE_GROUP = 'decide';

export function decideStage(opts: {
  market: MarketData;
  venuePreference?: readonly string[];
  compliance?: ComplianceInForce;
  routing?: RouterSettings;
  chains?: ChainSettings;
}): Stage {
  let state = pretrade.initialState();
  let placement: IntentPlacement | undefined;
  const compliance = opts.compliance ?? new ComplianceInForce();
  const riskOpts = { market: opts.market, compliance, skipAccepted: true };
  return {
    name: DECIDE_GROUP,
    input: TOPICS.intents,
    // Policies and operator commands (exec.risk) and the gateway's order events, for risk's part.
    also: [TOPICS.risk, TOPICS.gateway],
    async restore(log: EventLog) {
      // The accepted ids (from their headers) on exec.risk for the normalizer's part; risk's part as the risk stage restores it.
      state = pretrade.initialState();
      placement = intentPlacement(log);
      await log.scan([TOPICS.risk], (r) => {
        const type = typeOf(r);
        if (type === 'IntentAccepted' || type === 'ChainRequested') state = pretrade.evolveInPlace(state, { type, intent_id: r.headers[HEADER_INTENT_ID] });
        else if (type === undefined || type === 'OrderChangeRequested') {
          const e = fromRecord(r);
          if (e.type === 'IntentAccepted' || e.type === 'OrderChangeRequested' || e.type === 'ChainRequested') state = pretrade.evolveInPlace(state, e);
        }
      });
      // Risk's fold and the router's and chains' read exec.gateway in one scan.
      const routing = routingFold(opts.market, opts.chains);
      const restored = await restoreRisk(log, DECIDE_GROUP, { policiesLogged: true, alsoGateway: routing.take });
      state.risk = restored.state;
      state.router = routing.state.router;
      state.chains = routing.state.chains;
      if (restored.compliance) await compliance.apply(restored.compliance);
    },
    async handle(batch: LogRecord[]): Promise<OutRecord[]> {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      // Each event's trace is a child of the event it follows from, as across the separate stages.
      const traces = new Map<string, string | undefined>();
      let settle: string | undefined;
      for (const r of batch) {
        if (r.topic !== TOPICS.intents) {
          const from = out.length;
          // One parse for the folds: the router's and the chains' (a chain may go on to its next leg), then risk's.
          const fact = r.topic === TOPICS.gateway ? routingInput(state, r, out, now, opts.market) : undefined;
          const s = riskInput(state.risk, fact && r.decoded === undefined ? { ...r, decoded: fact } : r, out, now, riskOpts);
          state.risk = s.state;
          settle = s.settle ?? settle;
          if (s.compliance) await compliance.apply(s.compliance);
          // A flatten's closing intents were approved here, not by an intent on exec.intents: route them too.
          for (let i = from, end = out.length; i < end; i++) {
            const approved = out[i].decoded as Event | undefined;
            if (approved?.type !== 'RiskApproved') continue;
            for (const routed of router.decide({ approved, market: opts.market, settings: opts.routing }, state.router)) {
              state.router = router.evolveInPlace(state.router, routed);
              out.push(toRecord(routed, now, out[i].headers?.[HEADER_TRACEPARENT]));
            }
          }
          continue;
        }
        // A record off its account's partition is moved there first, and decided when it arrives.
        const home = placement && placementOf(r, placement);
        if (home) {
          out.push(forwardedIntent(r, home));
          continue;
        }
        // The command is this record's own object: filled in place, no copy per intent.
        const command: PretradeCommand = normalizeCommand(r, opts.market, opts.venuePreference);
        command.now_us = nowMicros();
        if (opts.routing) command.routing = opts.routing;
        if (compliance.current) command.compliance = compliance.current;
        const input = traceOf(r);
        for (const e of pretrade.decide(command, state)) {
          state = pretrade.evolveInPlace(state, e);
          const record = toRecord(e, now, traces.has(e.causation) ? traces.get(e.causation) : input);
          traces.set(e.event_id, record.headers?.[HEADER_TRACEPARENT]);
          out.push(record);
        }
      }
      if (settle !== undefined) state.risk = decideInto(risk, state.risk, { kind: 'settle', ts: settle }, out, now, undefined);
      return out;
    },
  };
}
