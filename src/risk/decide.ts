// Pre-trade risk: the hard barrier every intent passes before it can become an order. Pure: a
// decision follows from the intent, the fold of the log (policy, trading states, positions, open
// intents, today's notional, velocity, PnL marks) and the book at the intent's time.
import type { InPlaceDecider } from '../domain/decider.js';
import { fmt, ZERO, type Dec } from '../domain/decimal.js';
import { makeEvent, type EventSeed } from '../domain/envelope.js';
import type { EventOf, NormalizedIntent, RiskPolicy, TradingMode } from '../domain/events.js';
import { canonicalJson } from '../domain/hash.js';
import { isoToMicros } from '../domain/time.js';
import { midPrice } from '../market/book.js';
import type { MarketData } from '../market/types.js';
import { toUsd } from '../market/usd.js';
import { compilePolicy, ruleSetHash } from './policy.js';
import { assessIntent, type AssessOptions, type Verdict } from './rules.js';
import { cloneRiskState, evolveRiskInPlace, initialRiskState, strategyKey, type RiskFact, type RiskState } from './state.js';

export type { RiskState } from './state.js';

/** What a compliance policy (Rego) says of an intent; evaluated in process, deterministic. */
export interface CompliancePolicy {
  readonly hash: string;
  evaluate(input: unknown): { deny: { code: string; message: string }[]; warn: { code: string; message: string }[]; simulate: boolean };
}

export type RiskCommand =
  /** An accepted intent to approve, revise or reject, with the books at its time. */
  | { kind: 'assess'; intent: EventOf<'IntentAccepted'>; market: MarketData; compliance?: CompliancePolicy }
  /** A policy put in force at `ts` (at start, or by an operator): a new version, unless it is the one in force. */
  | { kind: 'set_policy'; policy: RiskPolicy; ts: string; operator?: string; reason?: string }
  /** A cancel or amend of an earlier intent's orders. */
  | { kind: 'change'; request: EventOf<'OrderChangeRequested'> }
  /** A multi-leg chain: it starts only where trading is ACTIVE (it holds inventory between legs). */
  | { kind: 'chain'; request: EventOf<'ChainRequested'> }
  /** An operator's command (halt, resume, reduce, flatten, break-glass flatten). */
  | { kind: 'operator'; command: EventOf<'OperatorCommand'>; market: MarketData; compliance?: CompliancePolicy }
  /** After order events were folded: flattens whose closing intents all ended are reported. */
  | { kind: 'settle'; ts: string };

export type RiskEvent = EventOf<
  'RiskPolicySet' | 'RiskApproved' | 'RiskRejected' | 'RiskWarned' | 'OrderChangeApproved' | 'ChainApproved' | 'TradingStateChanged' | 'FlattenStarted' | 'FlattenCompleted'
>;

const RISK_EVENTS: ReadonlySet<string> = new Set([
  'RiskPolicySet',
  'RiskApproved',
  'RiskRejected',
  'RiskWarned',
  'OrderChangeApproved',
  'ChainApproved',
  'TradingStateChanged',
  'FlattenStarted',
  'FlattenCompleted',
]);
export const isRiskEvent = (e: { type: string }): e is RiskEvent => RISK_EVENTS.has(e.type);

export const risk = {
  initialState: initialRiskState,
  decide(command: RiskCommand, state: RiskState): RiskEvent[] {
    switch (command.kind) {
      case 'assess':
        return assess(state, command.intent, command.market, command.compliance);
      case 'set_policy':
        return setPolicy(state, command.policy, { intent_id: '', account: '', strategy: '', ts: command.ts, causation: 'operator' }, command.operator, command.reason);
      case 'change':
        return [assessChange(state, command.request)];
      case 'chain':
        return [assessChain(state, command.request)];
      case 'operator':
        return operate(state, command.command, command.market, command.compliance);
      case 'settle':
        return settle(state, command.ts);
    }
  },
  /** Policies only move forward: a copy of an older or the same version (from another partition) changes nothing. */
  evolve: (state: RiskState, event: RiskFact): RiskState => evolveRiskInPlace(cloneRiskState(state), event),
  evolveInPlace: evolveRiskInPlace,
} satisfies InPlaceDecider<RiskCommand, RiskState, RiskEvent, RiskFact>;

/** True when setting `policy` would change what is in force (so a rerun does not log it again). */
export function policyDiffers(state: RiskState, policy: RiskPolicy): boolean {
  return state.version === 0 || canonicalJson(state.policy) !== canonicalJson(policy);
}

function setPolicy(state: RiskState, policy: RiskPolicy, seed: EventSeed, operator?: string, reason?: string): RiskEvent[] {
  if (!policyDiffers(state, policy)) return [];
  const version = state.version + 1;
  return [
    makeEvent('RiskPolicySet', `policy/${version}`, seed, {
      version,
      policy,
      rule_set_hash: ruleSetHash(policy),
      ...(operator !== undefined ? { operator } : {}),
      ...(reason !== undefined ? { reason } : {}),
    }),
  ];
}

const seedOf = (e: { intent_id: string; account: string; strategy: string; ts: string; event_id: string }): EventSeed => ({
  intent_id: e.intent_id,
  account: e.account,
  strategy: e.strategy,
  ts: e.ts,
  causation: e.event_id,
});

function under(state: RiskState, compliance: CompliancePolicy | undefined) {
  return { policy_version: state.version, rule_set_hash: state.hash, ...(compliance ? { rego_hash: compliance.hash } : {}) };
}

function assess(
  state: RiskState,
  event: EventOf<'IntentAccepted'>,
  market: MarketData,
  compliance?: CompliancePolicy,
  o: AssessOptions & { flatten_id?: string } = {},
): RiskEvent[] {
  const intent = event.data.intent;
  const seed = seedOf(event);
  const out: RiskEvent[] = [];
  const verdict = assessIntent(state, intent, market, o);
  for (const t of verdict.transitions) {
    out.push(makeEvent('TradingStateChanged', `${intent.intent_id}/risk/state/${t.scope}`, seed, { scope: t.scope, from: t.from, to: t.to, reason: t.reason, by: t.by }));
  }
  const warnings = [...verdict.warnings];
  const base = { ...under(state, compliance), ...(Object.keys(verdict.pnl).length > 0 ? { pnl_usd: verdict.pnl } : {}), ...(o.flatten_id ? { flatten_id: o.flatten_id } : {}) };
  const rejected = (v: { code: Extract<Verdict, { kind: 'reject' }>['code']; reason: string; rule?: string }) => {
    pushWarnings(out, warnings, seed, intent.intent_id, state.version);
    out.push(makeEvent('RiskRejected', `${intent.intent_id}/risk`, seed, { code: v.code, reason: v.reason, ...(v.rule ? { rule: v.rule } : {}), ...base }));
    return out;
  };
  if (verdict.kind === 'reject') return rejected(verdict);

  let approved = verdict.intent;
  let simulated: string | undefined;
  if (compliance && !o.breakGlass) {
    let result;
    try {
      result = compliance.evaluate(complianceInput(approved));
    } catch (e) {
      return rejected({ code: 'COMPLIANCE', reason: `the compliance policy failed on this intent: ${(e as Error).message}` });
    }
    for (const w of result.warn) warnings.push({ code: w.code, reason: w.message });
    const deny = result.deny[0];
    if (deny) return rejected({ code: 'COMPLIANCE', reason: result.deny.map((d) => `${d.code}: ${d.message}`).join('; '), rule: deny.code });
    if (result.simulate) simulated = 'the compliance policy routes this intent to simulation only';
  }
  const c = compilePolicy(state.policy);
  if (!simulated && (c.simulateStrategies.has(approved.strategy) || c.simulateAccounts.has(approved.account))) {
    simulated = `the policy sends ${c.simulateStrategies.has(approved.strategy) ? `strategy ${approved.strategy}` : `account ${approved.account}`} to simulation only`;
  }
  if (simulated && approved.env !== 'sim') approved = { ...approved, env: 'sim' };
  else if (simulated) simulated = undefined;
  pushWarnings(out, warnings, seed, intent.intent_id, state.version);
  out.push(
    makeEvent('RiskApproved', `${intent.intent_id}/risk`, seed, {
      intent: approved,
      ...base,
      ...(verdict.revised ? { revised: verdict.revised } : {}),
      ...(simulated ? { simulated } : {}),
    }),
  );
  return out;
}

function pushWarnings(out: RiskEvent[], warnings: readonly { code: string; reason: string }[], seed: EventSeed, intentId: string, version: number): void {
  warnings.forEach((w, n) => out.push(makeEvent('RiskWarned', `${intentId}/risk/warn/${n}`, seed, { code: w.code, reason: w.reason, policy_version: version })));
}

/** What a Rego policy sees of an intent: its own fields, nothing of the fold (policies stay replayable from the intent alone). */
function complianceInput(i: NormalizedIntent): unknown {
  return {
    intent_id: i.intent_id,
    ts: i.ts,
    account: i.account,
    strategy: i.strategy,
    labels: i.labels,
    env: i.env,
    instrument_id: i.instrument_id,
    venues: i.venues,
    base: i.base,
    quote: i.quote,
    side: i.side,
    qty: i.qty,
    order_type: i.order_type,
    tif: i.tif,
    ...(i.limit_price !== undefined ? { limit_price: i.limit_price } : {}),
    ...(i.stop_loss !== undefined ? { stop_loss: i.stop_loss } : {}),
    ref_price: i.ref_price,
    notional: i.notional,
    notional_usd: i.notional_usd,
  };
}

/**
 * A cancel always passes: it only takes risk off, and must work while halted. An amend moves a live
 * order, so a halt stops it; it cannot grow the order (the gateway holds it to the size risk
 * approved for the target).
 */
function assessChange(state: RiskState, event: EventOf<'OrderChangeRequested'>): RiskEvent {
  const request = event.data.request;
  const seed = seedOf(event);
  const halted = compilePolicy(state.policy).halted || ['global', `account:${event.account}`, `strategy:${event.strategy}`].some((s) => state.standings.get(s)?.mode === 'HALTED');
  if (request.kind === 'amend' && halted) {
    return makeEvent('RiskRejected', `${event.intent_id}/risk`, seed, {
      code: 'HALTED',
      reason: 'trading is halted: the halt latch is set (cancels still pass)',
      ...under(state, undefined),
    });
  }
  return makeEvent('OrderChangeApproved', `${event.intent_id}/risk`, seed, { request, policy_version: state.version });
}

/** A chain passes when nothing it trades for is halted or reducing: the policy's latch, the book, its account, its strategy. */
function assessChain(state: RiskState, event: EventOf<'ChainRequested'>): RiskEvent {
  const seed = seedOf(event);
  if (compilePolicy(state.policy).halted)
    return makeEvent('RiskRejected', `${event.intent_id}/risk`, seed, {
      code: 'HALTED',
      reason: 'trading is halted: the policy in force sets the halt latch',
      ...under(state, undefined),
    });
  for (const scope of ['global', `account:${event.account}`, `strategy:${event.strategy}`]) {
    const st = state.standings.get(scope);
    if (st)
      return makeEvent('RiskRejected', `${event.intent_id}/risk`, seed, {
        code: st.mode === 'HALTED' ? 'HALTED' : 'REDUCE_ONLY',
        reason: `${scope} is ${st.mode} (${st.reason}): a chain holds inventory between legs, so it starts only where trading is ACTIVE`,
        ...under(state, undefined),
      });
  }
  return makeEvent('ChainApproved', `${event.intent_id}/risk`, seed, { chain: event.data.chain, policy_version: state.version });
}

const MODE_OF: Record<string, TradingMode> = { halt: 'HALTED', resume: 'ACTIVE', reduce: 'REDUCING' };

function operate(state: RiskState, cmd: EventOf<'OperatorCommand'>, market: MarketData, compliance?: CompliancePolicy): RiskEvent[] {
  const d = cmd.data;
  if (state.commands.has(d.command_id)) return [];
  const seed: EventSeed = {
    intent_id: '',
    account: d.scope.startsWith('account:') ? d.scope.slice(8) : '',
    strategy: d.scope.startsWith('strategy:') ? d.scope.slice(9) : '',
    ts: cmd.ts,
    causation: cmd.event_id,
  };
  const by = `operator:${d.operator}`;
  switch (d.command) {
    case 'halt':
    case 'resume':
    case 'reduce': {
      const from = state.standings.get(d.scope)?.mode ?? 'ACTIVE';
      return [makeEvent('TradingStateChanged', `control/${d.command_id}`, seed, { scope: d.scope, from, to: MODE_OF[d.command], reason: d.reason, by })];
    }
    case 'flatten':
    case 'break_glass_flatten':
      return flatten(state, cmd, seed, market, compliance, d.command === 'break_glass_flatten');
  }
}

/** One closing intent per non-flat position of the scope, each decided like any intent (break-glass: safety rules only). */
function flatten(
  state: RiskState,
  cmd: EventOf<'OperatorCommand'>,
  seed: EventSeed,
  market: MarketData,
  compliance: CompliancePolicy | undefined,
  breakGlass: boolean,
): RiskEvent[] {
  const d = cmd.data;
  const flattenId = d.command_id;
  const closings: NormalizedIntent[] = [];
  const tsUs = isoToMicros(cmd.ts);
  const positions: { account: string; strategy: string; instrument_id: string; base: string; quote: string; qty: Dec }[] = [];
  if (d.scope.startsWith('strategy:')) {
    const strategy = d.scope.slice(9);
    const prefix = strategyKey(strategy, '');
    for (const [k, byInstrument] of state.byStrategy.positions) {
      if (!k.startsWith(prefix)) continue;
      for (const acc of byInstrument.values())
        positions.push({ account: k.slice(prefix.length), strategy, instrument_id: acc.meta.instrument_id, base: acc.meta.base, quote: acc.meta.quote, qty: acc.qty });
    }
  } else {
    const account = d.scope.startsWith('account:') ? d.scope.slice(8) : undefined;
    for (const [acct, byInstrument] of state.positions.positions) {
      if (account !== undefined && acct !== account) continue;
      for (const acc of byInstrument.values())
        positions.push({ account: acct, strategy: 'flatten', instrument_id: acc.meta.instrument_id, base: acc.meta.base, quote: acc.meta.quote, qty: acc.qty });
    }
  }
  positions.sort((a, b) => (a.account + a.instrument_id < b.account + b.instrument_id ? -1 : a.account + a.instrument_id > b.account + b.instrument_id ? 1 : 0));
  for (const p of positions) {
    if (p.qty.coef === 0n) continue;
    const qty = p.qty.abs();
    const spec = market.instrument(p.instrument_id);
    const ref = midPrice(market.bookAt(p.instrument_id, tsUs)) ?? ZERO;
    const notional = qty.times(ref);
    const usd = spec ? (toUsd(market, notional, spec, tsUs) ?? notional) : notional;
    const q = fmt(qty);
    closings.push({
      intent_id: `flatten/${flattenId}/${p.account}/${p.instrument_id}`,
      ts: cmd.ts,
      account: p.account,
      strategy: p.strategy,
      labels: { flatten_id: flattenId, operator: d.operator },
      env: state.envOf.get(`${p.account}|${p.instrument_id}`) ?? 'sim',
      instrument_id: p.instrument_id,
      venues: [p.instrument_id],
      sized_on: p.instrument_id,
      base: p.base,
      quote: p.quote,
      side: p.qty.coef > 0n ? 'SELL' : 'BUY',
      size: { type: 'quantity', value: q, ccy: p.base },
      qty: q,
      order_type: 'MARKET',
      tif: 'IOC',
      ref_price: fmt(ref),
      notional: fmt(notional),
      notional_usd: fmt(usd),
    });
  }
  const out: RiskEvent[] = [
    makeEvent('FlattenStarted', `flatten/${flattenId}`, seed, {
      flatten_id: flattenId,
      scope: d.scope,
      break_glass: breakGlass,
      operator: d.operator,
      reason: d.reason,
      closing: closings.map((c) => ({ intent_id: c.intent_id, account: c.account, instrument_id: c.instrument_id, side: c.side, qty: c.qty })),
    }),
  ];
  const failed: { intent_id: string; instrument_id: string; reason: string }[] = [];
  // Each closing intent is decided on the fold of the decisions before it, as if it came alone.
  const folded = cloneRiskState(state);
  evolveRiskInPlace(folded, out[0]);
  for (const c of closings) {
    const accepted = makeEvent(
      'IntentAccepted',
      `${c.intent_id}/accepted`,
      { intent_id: c.intent_id, account: c.account, strategy: c.strategy, ts: cmd.ts, causation: cmd.event_id },
      { intent: c },
    );
    const decided = assess(folded, accepted, market, compliance, { breakGlass, closing: true, flatten_id: flattenId });
    for (const e of decided) evolveRiskInPlace(folded, e);
    out.push(...decided);
    const verdict = decided.at(-1)!;
    if (verdict.type === 'RiskRejected') failed.push({ intent_id: c.intent_id, instrument_id: c.instrument_id, reason: `${verdict.data.code}: ${verdict.data.reason}` });
  }
  // Nothing to wait for: the flatten ends here (a silent flatten is never left behind).
  if (failed.length === closings.length) out.push(makeEvent('FlattenCompleted', `flatten/${flattenId}/done`, seed, { flatten_id: flattenId, closed: [], failed }));
  return out;
}

/** Flattens whose closing intents have all ended. */
function settle(state: RiskState, ts: string): RiskEvent[] {
  const out: RiskEvent[] = [];
  for (const [id, f] of state.flattens) {
    if (f.pending.size > 0) continue;
    const closed = [...f.closing].flatMap(([intentId, c]) => {
      const filled = f.filled.get(intentId) ?? ZERO;
      return filled.coef > 0n ? [{ intent_id: intentId, instrument_id: c.instrument_id, qty: fmt(filled) }] : [];
    });
    const failed = [...f.failed].map(([intentId, reason]) => ({ intent_id: intentId, instrument_id: f.closing.get(intentId)?.instrument_id ?? '', reason }));
    out.push(makeEvent('FlattenCompleted', `flatten/${id}/done`, { intent_id: '', account: '', strategy: '', ts, causation: `flatten/${id}` }, { flatten_id: id, closed, failed }));
  }
  return out;
}
