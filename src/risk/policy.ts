// Risk policies: defaults, loading a policy file, its rule-set hash, and the compiled form the
// decider reads (decimals parsed once, rules grouped by what they need).
import { readFileSync } from 'node:fs';
import { dec, type Dec } from '../domain/decimal.js';
import type { RiskRejectCode } from '../domain/events.js';
import { canonicalJson, sha256Hex } from '../domain/hash.js';
import { RiskPolicy, type RiskRule, type RiskRuleName } from '../domain/risk-policy.js';
import { issuesText } from '../domain/faults.js';

export const DEFAULT_POLICY: RiskPolicy = {
  max_order_notional_usd: '1000000',
  halted: false,
};

export function loadPolicyFile(path: string): RiskPolicy {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read risk policy ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parsePolicy(json, `risk policy ${path}`);
}

/** A policy from JSON, or an error naming every problem and where it is. */
export function parsePolicy(json: unknown, what = 'risk policy'): RiskPolicy {
  const r = RiskPolicy.safeParse(json);
  if (!r.success) {
    throw new Error(`${what} is invalid: ${issuesText(r.error.issues)}`);
  }
  for (const [i, rule] of (r.data.rules ?? []).entries()) {
    const problem = ruleProblem(rule);
    if (problem) throw new Error(`${what} is invalid: rules.${i} (${rule.rule}): ${problem}`);
  }
  return r.data;
}

/** What the schema cannot say about one rule. */
function ruleProblem(rule: RiskRule): string | undefined {
  switch (rule.rule) {
    case 'max_order_qty':
      return rule.instrument ? undefined : 'name the instrument whose quantity it limits';
    case 'order_size':
      return rule.min_usd === undefined && rule.max_usd === undefined ? 'give min_usd, max_usd or both' : undefined;
    case 'velocity':
      return rule.max_per_second === undefined && rule.max_per_minute === undefined ? 'give max_per_second, max_per_minute or both' : undefined;
    case 'trading_window':
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: rule.time_zone });
        return undefined;
      } catch {
        return `unknown time zone ${JSON.stringify(rule.time_zone)}`;
      }
    default:
      return undefined;
  }
}

/** sha256 of the canonical policy: equal policies, equal hashes, whatever their key order. */
export function ruleSetHash(policy: RiskPolicy): string {
  return sha256Hex(canonicalJson(policy));
}

/** The reject code of each rule. */
export const RULE_CODES: Record<Exclude<RiskRuleName, 'order_size'>, RiskRejectCode> = {
  max_order_notional: 'MAX_ORDER_NOTIONAL',
  max_order_qty: 'MAX_ORDER_QTY',
  price_band: 'PRICE_BAND',
  fat_finger: 'FAT_FINGER',
  position_limit: 'POSITION_LIMIT',
  gross_exposure: 'GROSS_EXPOSURE',
  net_exposure: 'NET_EXPOSURE',
  leverage: 'LEVERAGE',
  max_open_orders: 'MAX_OPEN_ORDERS',
  daily_notional: 'DAILY_NOTIONAL',
  daily_loss: 'DAILY_LOSS',
  drawdown: 'DRAWDOWN',
  velocity: 'VELOCITY',
  stop_loss_required: 'STOP_LOSS_REQUIRED',
  strategy_allow: 'STRATEGY_NOT_ALLOWED',
  restricted_instruments: 'RESTRICTED_INSTRUMENT',
  trading_window: 'OUTSIDE_TRADING_WINDOW',
  duplicate_guard: 'DUPLICATE_ORDER',
};

/** The venue of a venue instrument id (VENUE:SYMBOL). */
export const venueOf = (instrumentId: string): string => {
  const c = instrumentId.indexOf(':');
  return c < 0 ? instrumentId : instrumentId.slice(0, c);
};

/** Who a rule applies to: absent fields match all. */
export interface RuleScope {
  account?: string;
  strategy?: string;
  instrument?: string;
  venue?: string;
}

/** Whether a rule's scope covers an intent (judged on its preferred venue). */
export function matches(r: RuleScope, i: { account: string; strategy: string; venues: readonly string[]; base: string; quote: string }): boolean {
  if (r.account !== undefined && r.account !== i.account) return false;
  if (r.strategy !== undefined && r.strategy !== i.strategy) return false;
  if (r.venue !== undefined && r.venue.toUpperCase() !== venueOf(i.venues[0])) return false;
  if (r.instrument !== undefined && !instrumentMatches(r.instrument, i.venues[0], i.base, i.quote)) return false;
  return true;
}

/** VENUE:SYMBOL names one venue instrument; BASE/QUOTE a pair anywhere; a bare asset either side of a pair. */
export function instrumentMatches(pattern: string, instrumentId: string, base: string, quote: string): boolean {
  const p = pattern.toUpperCase();
  if (p.includes(':')) return p === instrumentId.toUpperCase();
  if (p.includes('/')) return p === `${base}/${quote}`;
  return p === base || p === quote;
}

/** A rule with its decimals parsed and its index in the policy (velocity buckets and pnl marks are keyed by it). */
export type Compiled<R extends RiskRule = RiskRule> = R & { index: number; n: Record<string, Dec> };
type Of<N extends RiskRuleName> = Compiled<Extract<RiskRule, { rule: N }>>;

export interface CompiledPolicy {
  hash: string;
  halted: boolean;
  allowList?: ReadonlySet<string>;
  /** Gates: no size involved; a breach rejects (or warns). */
  gates: Compiled[];
  /** Size limits: each allows some largest quantity; revisable. */
  sizes: Compiled[];
  /** daily_loss and drawdown: they move trading states. */
  losses: (Of<'daily_loss'> | Of<'drawdown'>)[];
  velocity: Of<'velocity'>[];
  duplicateWindowsMs: number[];
  /** Every rule in policy order (the legacy max_order_notional_usd last): what `risk status` lists. */
  all: Compiled[];
  equity: ReadonlyMap<string, Dec>;
  simulateStrategies: ReadonlySet<string>;
  simulateAccounts: ReadonlySet<string>;
}

const SIZE_RULES: ReadonlySet<RiskRuleName> = new Set([
  'max_order_notional',
  'max_order_qty',
  'fat_finger',
  'order_size',
  'position_limit',
  'gross_exposure',
  'net_exposure',
  'leverage',
  'daily_notional',
]);

const compiled = new WeakMap<RiskPolicy, CompiledPolicy>();

/** The compiled form of a policy, made once per policy object. */
export function compilePolicy(policy: RiskPolicy): CompiledPolicy {
  let c = compiled.get(policy);
  if (!c) compiled.set(policy, (c = compile(policy)));
  return c;
}

function compile(policy: RiskPolicy): CompiledPolicy {
  const rules: Compiled[] = (policy.rules ?? []).map((r, index) => {
    const n: Record<string, Dec> = {};
    for (const [k, v] of Object.entries(r)) if (typeof v === 'string' && /^(limit|limit_usd|min_usd|max_usd|max|max_share_of_depth)$/.test(k)) n[k] = dec(v);
    return { ...r, index, n };
  });
  if (policy.max_order_notional_usd !== undefined) {
    rules.push({ rule: 'max_order_notional', limit_usd: policy.max_order_notional_usd, index: rules.length, n: { limit_usd: dec(policy.max_order_notional_usd) } });
  }
  const equity = new Map<string, Dec>();
  for (const [a, v] of Object.entries(policy.equity_usd ?? {})) equity.set(a, dec(v));
  return {
    hash: ruleSetHash(policy),
    halted: policy.halted,
    ...(policy.allowed_instruments ? { allowList: new Set(policy.allowed_instruments.map((s) => s.toUpperCase())) } : {}),
    gates: rules.filter((r) => !SIZE_RULES.has(r.rule) && r.rule !== 'daily_loss' && r.rule !== 'drawdown' && r.rule !== 'velocity' && r.rule !== 'duplicate_guard'),
    sizes: rules.filter((r) => SIZE_RULES.has(r.rule)),
    losses: rules.filter((r): r is Of<'daily_loss'> | Of<'drawdown'> => r.rule === 'daily_loss' || r.rule === 'drawdown'),
    velocity: rules.filter((r): r is Of<'velocity'> => r.rule === 'velocity'),
    duplicateWindowsMs: rules.flatMap((r) => (r.rule === 'duplicate_guard' ? [r.window_ms] : [])),
    all: rules,
    equity,
    simulateStrategies: new Set(policy.simulate_only?.strategies ?? []),
    simulateAccounts: new Set(policy.simulate_only?.accounts ?? []),
  };
}
