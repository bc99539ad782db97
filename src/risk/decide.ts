// Pre-trade risk: a hard barrier every intent passes before it can become an order. Pure.
import type { Decider } from '../domain/decider.js';
import { dec } from '../domain/decimal.js';
import { makeEvent } from '../domain/envelope.js';
import type { EventOf, NormalizedIntent, RiskPolicy, RiskRejectCode } from '../domain/events.js';
import { canonicalJson } from '../domain/hash.js';
import { DEFAULT_POLICY } from './policy.js';

export interface RiskState {
  policy: RiskPolicy;
  /** 0 until the first RiskPolicySet; decisions name the version they were made under. */
  version: number;
}

export type RiskCommand =
  /** An accepted intent to approve or reject. */
  | { kind: 'assess'; intent: EventOf<'IntentAccepted'> }
  /** An operator puts a policy in force at `ts`: a new version, unless it is the one in force. */
  | { kind: 'set_policy'; policy: RiskPolicy; ts: string }
  /** A cancel or amend of an earlier intent's orders. */
  | { kind: 'change'; request: EventOf<'OrderChangeRequested'> };

export type RiskEvent = EventOf<'RiskPolicySet' | 'RiskApproved' | 'RiskRejected' | 'OrderChangeApproved'>;

export const risk = {
  initialState: (): RiskState => ({ policy: DEFAULT_POLICY, version: 0 }),
  decide(command: RiskCommand, state: RiskState): RiskEvent[] {
    if (command.kind === 'change') return [assessChange(state, command.request)];
    return command.kind === 'assess' ? [assess(state, command.intent)] : setPolicy(state, command.policy, command.ts);
  },
  /** Policies only move forward: a copy of an older or the same version (from another partition) changes nothing. */
  evolve(state: RiskState, event: RiskEvent): RiskState {
    if (event.type === 'RiskPolicySet' && event.data.version > state.version) return { policy: event.data.policy, version: event.data.version };
    return state;
  },
} satisfies Decider<RiskCommand, RiskState, RiskEvent>;

/** True when setting `policy` would change what is in force (so a rerun does not log it again). */
export function policyDiffers(state: RiskState, policy: RiskPolicy): boolean {
  return state.version === 0 || canonicalJson(state.policy) !== canonicalJson(policy);
}

function setPolicy(state: RiskState, policy: RiskPolicy, ts: string): RiskEvent[] {
  if (!policyDiffers(state, policy)) return [];
  const version = state.version + 1;
  return [makeEvent('RiskPolicySet', `policy/${version}`, { intent_id: '', account: '', strategy: '', ts, causation: 'operator' }, { version, policy })];
}

function assess(state: RiskState, event: EventOf<'IntentAccepted'>): RiskEvent {
  const intent = event.data.intent;
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };
  const verdict = check(state.policy, intent);
  if ('code' in verdict) {
    return makeEvent('RiskRejected', `${intent.intent_id}/risk`, seed, { ...verdict, policy_version: state.version });
  }
  return makeEvent('RiskApproved', `${intent.intent_id}/risk`, seed, { intent: verdict.intent, policy_version: state.version });
}

/**
 * A cancel always passes: it only takes risk off, and must work while halted. An amend moves a live
 * order, so the halt latch stops it; it cannot grow the order (the gateway holds it to the size
 * risk approved for the target).
 */
function assessChange(state: RiskState, event: EventOf<'OrderChangeRequested'>): RiskEvent {
  const request = event.data.request;
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };
  if (request.kind === 'amend' && state.policy.halted) {
    return makeEvent('RiskRejected', `${event.intent_id}/risk`, seed, {
      code: 'HALTED',
      reason: 'trading is halted: the halt latch is set (cancels still pass)',
      policy_version: state.version,
    });
  }
  return makeEvent('OrderChangeApproved', `${event.intent_id}/risk`, seed, { request, policy_version: state.version });
}

function check(policy: RiskPolicy, intent: NormalizedIntent): { intent: NormalizedIntent } | { code: RiskRejectCode; reason: string } {
  if (policy.halted) return { code: 'HALTED', reason: 'trading is halted: the halt latch is set' };
  let venues = intent.venues;
  if (policy.allowed_instruments) {
    const allowed = new Set(policy.allowed_instruments.map((s) => s.toUpperCase()));
    const pair = `${intent.base}/${intent.quote}`;
    venues = allowed.has(pair) ? venues : venues.filter((v) => allowed.has(v));
    if (venues.length === 0) {
      return { code: 'INSTRUMENT_NOT_ALLOWED', reason: `${intent.instrument_id} is not on the instrument allow-list` };
    }
  }
  if (policy.max_order_notional_usd !== undefined && dec(intent.notional_usd).gt(dec(policy.max_order_notional_usd))) {
    return {
      code: 'MAX_ORDER_NOTIONAL',
      reason: `order notional ${intent.notional_usd} USD exceeds the limit of ${policy.max_order_notional_usd} USD`,
    };
  }
  return { intent: venues === intent.venues ? intent : { ...intent, venues } };
}
