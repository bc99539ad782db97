// Pre-trade as one decider: the normalizer, risk and the router composed, so one stage can take a
// raw intent to a routed order in one step (and on Kafka, one transaction). It decides exactly what
// the three stages decide one after another: each part sees the state its own stage would.
import type { InPlaceDecider } from '../domain/decider.js';
import type { Event } from '../domain/events.js';
import { normalizer, type NormalizeIntent, type NormalizerEvent, type NormalizerFact, type NormalizerState } from '../normalizer/decide.js';
import { isRiskEvent, risk, type CompliancePolicy, type RiskEvent, type RiskState } from '../risk/decide.js';
import { isGatewayFact, type RiskFact } from '../risk/state.js';
import { router, type RouterEvent, type RouterSettings, type RouterState } from '../router/decide.js';
import { isRouterFact } from '../router/state.js';
import { chains, CHAIN_FACTS, type ChainEvent, type ChainsState } from '../chains/decide.js';

export interface PretradeState {
  normalizer: NormalizerState;
  risk: RiskState;
  router: RouterState;
  chains: ChainsState;
}

export type PretradeEvent = NormalizerEvent | RiskEvent | RouterEvent | ChainEvent;

/** A raw intent with what its three parts read: the market, and the compliance policy in force. */
export type PretradeCommand = NormalizeIntent & { compliance?: CompliancePolicy; routing?: RouterSettings; /** Wall clock (µs) a chain admitted here records. */ now_us?: number };

/** What the composed fold takes: any of the three parts' events, an accepted intent known from its headers, or what risk and the router fold of the gateway's events. */
export type PretradeFact = PretradeEvent | NormalizerFact | RiskFact | Event;

/** Facts risk folds: its own events, operator commands, the gateway's order events. */
const forRisk = (e: PretradeFact): e is RiskFact => isRiskEvent(e) || e.type === 'OperatorCommand' || isGatewayFact(e.type);
/** Facts the router folds: the gateway's order and venue events, and its own decisions. */
const forRouter = (e: PretradeFact): e is Event => isRouterFact(e.type) || e.type === 'OrderChangeRouted' || e.type === 'RouteDecided';
/** Facts the chain decider folds: its own events, operator chain commands, its legs' fills. */
const forChains = (e: PretradeFact): e is Event => CHAIN_FACTS.has(e.type);

export const pretrade = {
  initialState: (): PretradeState => ({ normalizer: normalizer.initialState(), risk: risk.initialState(), router: router.initialState(), chains: chains.initialState() }),
  decide(command: PretradeCommand, state: PretradeState): PretradeEvent[] {
    const out: PretradeEvent[] = [];
    for (const accepted of normalizer.decide(command, state.normalizer)) {
      out.push(accepted);
      if (accepted.type !== 'IntentAccepted' && accepted.type !== 'OrderChangeRequested' && accepted.type !== 'ChainRequested') continue;
      const assess =
        accepted.type === 'IntentAccepted'
          ? ({ kind: 'assess', intent: accepted, market: command.market, compliance: command.compliance } as const)
          : accepted.type === 'ChainRequested'
            ? ({ kind: 'chain', request: accepted } as const)
            : ({ kind: 'change', request: accepted } as const);
      for (const verdict of risk.decide(assess, state.risk)) {
        out.push(verdict);
        if (verdict.type === 'ChainApproved') {
          for (const e of chains.decide({ kind: 'request', event: verdict, market: command.market, now_us: command.now_us ?? 0 }, state.chains)) out.push(e);
          continue;
        }
        if (verdict.type !== 'RiskApproved' && verdict.type !== 'OrderChangeApproved') continue;
        for (const routed of router.decide({ approved: verdict, market: command.market, settings: command.routing }, state.router)) out.push(routed);
      }
    }
    return out;
  },
  evolve(state: PretradeState, event: PretradeFact): PretradeState {
    const toRisk = forRisk(event);
    const toRouter = forRouter(event);
    const toChains = forChains(event);
    if (!toRisk && !toRouter && !toChains) {
      const next = normalizer.evolve(state.normalizer, event);
      return next === state.normalizer ? state : { ...state, normalizer: next };
    }
    return {
      ...state,
      ...(toRisk ? { risk: risk.evolve(state.risk, event) } : {}),
      ...(toRouter ? { router: router.evolve(state.router, event) } : {}),
      ...(toChains ? { chains: chains.evolve(state.chains, event) } : {}),
    };
  },
  evolveInPlace(state: PretradeState, event: PretradeFact): PretradeState {
    const toRisk = forRisk(event);
    const toRouter = forRouter(event);
    const toChains = forChains(event);
    if (toRisk) state.risk = risk.evolveInPlace(state.risk, event);
    if (toRouter) state.router = router.evolveInPlace(state.router, event);
    if (toChains) state.chains = chains.evolveInPlace(state.chains, event);
    if (!toRisk && !toRouter && !toChains) normalizer.evolveInPlace(state.normalizer, event);
    return state;
  },
} satisfies InPlaceDecider<PretradeCommand, PretradeState, PretradeEvent, PretradeFact>;
