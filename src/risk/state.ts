// What risk knows: the policy in force, each scope's trading state, positions from the fills, the
// intents it approved that are still open, today's notional, velocity buckets, recent orders (for
// the duplicate guard), PnL marks (for loss limits) and flattens under way. A fold of the log:
// risk's own decisions, the operator's commands and the gateway's order events.
//
// The fold updates in place on the stage's hot path. It never changes an object it has stored:
// it stores a new one. So a copy of the containers (cloneRiskState) is enough for `evolve` to
// leave its input as it was.
import { ZERO, dec, type Dec } from '../domain/decimal.js';
import { type Event, type EventOf, type NormalizedIntent, type OrderStatusFact, type RiskPolicy, type TradingMode } from '../domain/events.js';
import type { Env, Side } from '../domain/intent.js';
import { isoToMicros } from '../domain/time.js';
import { emptyBook, positionsDecider, type PositionBook } from '../positions/positions.js';
import type { RiskRule } from '../domain/risk-policy.js';
import { compilePolicy, DEFAULT_POLICY, matches, ruleSetHash, venueOf, type RuleScope } from './policy.js';

export { venueOf } from './policy.js';

export interface Standing {
  mode: TradingMode;
  reason: string;
  since: string;
  by: string;
}

/** An approved intent whose orders are not all finished. */
export interface OpenIntent {
  account: string;
  strategy: string;
  /** The venue instrument it goes to (the router's first candidate). */
  instrument_id: string;
  base: string;
  quote: string;
  side: Side;
  /** Quantity not yet filled. */
  remaining: Dec;
  /** Client order ids seen routed and not finished. */
  live: readonly string[];
  routed: boolean;
  flatten_id?: string;
}

export interface TokenBucket {
  tokens: number;
  at_us: number;
}

export interface PnlMark {
  day: string;
  day_start: Dec;
  peak: Dec;
}

export interface FlattenProgress {
  scope: string;
  /** intent id → what it closes. */
  closing: ReadonlyMap<string, { instrument_id: string; qty: Dec }>;
  /** intent id → filled so far. */
  filled: ReadonlyMap<string, Dec>;
  failed: ReadonlyMap<string, string>;
  /** Closing intents not finished yet. */
  pending: ReadonlySet<string>;
}

export interface RiskState {
  policy: RiskPolicy;
  /** 0 until the first RiskPolicySet; decisions name the version they were made under. */
  version: number;
  hash: string;
  /**
   * Every version seen (0: the default). An approval is folded under the policy it was decided
   * under, even when a restore has read a newer one first (it reads the policies before the verdicts).
   */
  policies: Map<number, RiskPolicy>;
  /** Absent scope: ACTIVE. Keys: global, account:A, strategy:S. */
  standings: Map<string, Standing>;
  /** By account, from the gateway's order events. */
  positions: PositionBook;
  /** The same fills by strategy and account (the book's account field holds strategyKey(strategy, account)). */
  byStrategy: PositionBook;
  /** account|instrument → signed quantity of open intents not yet filled. */
  openQty: Map<string, Map<string, Dec>>;
  /** account|instrument → the environment its last order went to (a flatten closes there). */
  envOf: Map<string, Env>;
  open: Map<string, OpenIntent>;
  /** Client order id → intent id, for orders of open intents. */
  orderIntent: Map<string, string>;
  /** Open intents per account:A and strategy:S. */
  openCount: Map<string, number>;
  /** Approved notional (USD) of `day` per global, strategy:S, account:A and the other scopes of daily_notional rules (dailyKey). */
  daily: { day: string; notional: Map<string, Dec> };
  /** `<rule index>/<key>/<s|m>` → bucket. */
  buckets: Map<string, TokenBucket>;
  /** duplicateKeys of an approval → its time (µs). */
  recent: Map<string, number>;
  /** Scope → PnL marks from decisions. */
  pnl: Map<string, PnlMark>;
  flattens: Map<string, FlattenProgress>;
  /** Operator commands already acted on (a command is written to every partition). */
  commands: Set<string>;
}

export function initialRiskState(): RiskState {
  return {
    policy: DEFAULT_POLICY,
    version: 0,
    hash: ruleSetHash(DEFAULT_POLICY),
    policies: new Map([[0, DEFAULT_POLICY]]),
    standings: new Map(),
    positions: emptyBook(),
    byStrategy: emptyBook(),
    openQty: new Map(),
    envOf: new Map(),
    open: new Map(),
    orderIntent: new Map(),
    openCount: new Map(),
    daily: { day: '', notional: new Map() },
    buckets: new Map(),
    recent: new Map(),
    pnl: new Map(),
    flattens: new Map(),
    commands: new Set(),
  };
}

/** Containers copied, stored values shared (the fold never changes a stored value). */
export function cloneRiskState(s: RiskState): RiskState {
  const book = (b: PositionBook): PositionBook => ({
    positions: new Map([...b.positions].map(([k, m]) => [k, new Map([...m].map(([i, a]) => [i, { ...a, other: { ...a.other } }]))])),
    orders: new Map([...b.orders].map(([k, r]) => [k, { ...r }])),
    skipped_fills: b.skipped_fills,
  });
  return {
    ...s,
    policies: new Map(s.policies),
    standings: new Map(s.standings),
    positions: book(s.positions),
    byStrategy: book(s.byStrategy),
    openQty: new Map([...s.openQty].map(([a, m]) => [a, new Map(m)])),
    envOf: new Map(s.envOf),
    open: new Map(s.open),
    orderIntent: new Map(s.orderIntent),
    openCount: new Map(s.openCount),
    daily: { day: s.daily.day, notional: new Map(s.daily.notional) },
    buckets: new Map(s.buckets),
    recent: new Map(s.recent),
    pnl: new Map(s.pnl),
    flattens: new Map(s.flattens),
    commands: new Set(s.commands),
  };
}

/** How far a trading state restricts: a loss limit only ever moves a scope up, an operator either way. */
export const SEVERITY: Record<TradingMode, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/** What the risk fold reads: any event (most leave it as it is) or a status event known from its headers. */
export type RiskFact = Event | OrderStatusFact;

const positionFold = positionsDecider();

/** The UTC day of an event time, YYYY-MM-DD. */
export const utcDay = (ts: string): string => ts.slice(0, 10);

/** Recent-order keys older than this are dropped (the longest duplicate window allowed is a day). */
const RECENT_KEEP_US = 86_400_000_000;

export function evolveRiskInPlace(s: RiskState, e: RiskFact): RiskState {
  switch (e.type) {
    case 'RiskPolicySet':
      if (!s.policies.has(e.data.version)) s.policies.set(e.data.version, e.data.policy);
      if (e.data.version > s.version) {
        s.policy = e.data.policy;
        s.version = e.data.version;
        s.hash = e.data.rule_set_hash ?? ruleSetHash(e.data.policy);
      }
      return s;
    case 'OperatorCommand':
      s.commands.add(e.data.command_id);
      return s;
    case 'TradingStateChanged':
      if (e.data.to === 'ACTIVE') s.standings.delete(e.data.scope);
      else s.standings.set(e.data.scope, { mode: e.data.to, reason: e.data.reason, since: e.ts, by: e.data.by });
      // An operator easing a scope accepts its losses so far: loss limits count again from the next decision.
      if (e.data.by.startsWith('operator:') && SEVERITY[e.data.to] < SEVERITY[e.data.from]) s.pnl.delete(e.data.scope);
      return s;
    case 'RiskApproved':
      approved(s, e);
      return s;
    case 'RiskRejected':
      if (e.data.pnl_usd) markPnl(s, e.ts, e.data.pnl_usd);
      if (e.data.flatten_id) flattenFailed(s, e.data.flatten_id, e.intent_id, `${e.data.code}: ${e.data.reason}`);
      return s;
    case 'FlattenStarted': {
      const closing = new Map(e.data.closing.map((c) => [c.intent_id, { instrument_id: c.instrument_id, qty: dec(c.qty) }]));
      s.flattens.set(e.data.flatten_id, { scope: e.data.scope, closing, filled: new Map(), failed: new Map(), pending: new Set(closing.keys()) });
      return s;
    }
    case 'FlattenCompleted':
      s.flattens.delete(e.data.flatten_id);
      return s;
    case 'OrderRouted': {
      positionFold.evolveInPlace(s.positions, e);
      const o = e.data.order;
      positionFold.evolveInPlace(s.byStrategy, { ...e, data: { order: { ...o, account: strategyKey(o.strategy, o.account) } } });
      s.envOf.set(`${o.account}|${o.instrument_id}`, o.env);
      const open = s.open.get(o.intent_id);
      if (open && !open.live.includes(o.client_order_id)) {
        s.open.set(o.intent_id, { ...open, live: [...open.live, o.client_order_id], routed: true });
        s.orderIntent.set(o.client_order_id, o.intent_id);
      }
      return s;
    }
    case 'OrderFilled': {
      positionFold.evolveInPlace(s.positions, e);
      positionFold.evolveInPlace(s.byStrategy, e);
      const id = s.orderIntent.get(e.data.client_order_id);
      const open = id === undefined ? undefined : s.open.get(id);
      if (id !== undefined && open) {
        const left = open.remaining.minus(dec(e.data.fill.qty));
        const remaining = left.coef < 0n ? ZERO : left;
        moveOpenQty(s, open, remaining);
        s.open.set(id, { ...open, remaining });
        if (open.flatten_id) flattenFilled(s, open.flatten_id, id, dec(e.data.fill.qty));
      }
      if (e.data.status === 'FILLED') orderFinished(s, e.data.client_order_id, undefined);
      return s;
    }
    case 'OrderCanceled':
    case 'OrderRejected':
    case 'OrderExpired':
      positionFold.evolveInPlace(s.positions, e);
      positionFold.evolveInPlace(s.byStrategy, e);
      orderFinished(
        s,
        e.data.client_order_id,
        e.type === 'OrderRejected' && 'reason' in e.data ? `rejected by the venue: ${String((e.data as { reason?: string }).reason)}` : undefined,
      );
      return s;
    default:
      return s;
  }
}

function approved(s: RiskState, e: EventOf<'RiskApproved'>): void {
  const i = e.data.intent;
  const policy = s.policies.get(e.data.policy_version) ?? s.policy;
  if (e.data.pnl_usd) markPnl(s, e.ts, e.data.pnl_usd);
  const instrument = i.venues[0];
  const remaining = dec(i.qty);
  addOpenQty(s, i.account, instrument, i.side === 'BUY' ? remaining : ZERO.minus(remaining));
  s.open.set(i.intent_id, {
    account: i.account,
    strategy: i.strategy,
    instrument_id: instrument,
    base: i.base,
    quote: i.quote,
    side: i.side,
    remaining,
    live: [],
    routed: false,
    ...(e.data.flatten_id ? { flatten_id: e.data.flatten_id } : {}),
  });
  bump(s.openCount, `account:${i.account}`, 1);
  bump(s.openCount, `strategy:${i.strategy}`, 1);
  // Today's notional: an intent of an earlier day than the one counted adds nothing to today.
  const day = utcDay(i.ts);
  if (day > s.daily.day) s.daily = { day, notional: new Map() };
  if (day === s.daily.day) {
    const usd = dec(i.notional_usd);
    const add = (k: string) => s.daily.notional.set(k, (s.daily.notional.get(k) ?? ZERO).plus(usd));
    add('global');
    add(`strategy:${i.strategy}`);
    add(`account:${i.account}`);
    for (const r of policy.rules ?? []) if (r.rule === 'daily_notional' && isCompound(r) && matches(r, i)) add(dailyKey(r));
  }
  const tsUs = isoToMicros(i.ts);
  takeTokens(s, policy, i, tsUs);
  if (compilePolicy(policy).duplicateWindowsMs.length > 0) {
    for (const k of duplicateKeys(i)) rememberRecent(s, k, tsUs);
    // A revised order was asked for with its first quantity: a repeat of that is a duplicate too.
    if (e.data.revised) rememberRecent(s, quantityKey(i.account, instrument, i.side, e.data.revised.from_qty), tsUs);
  }
}

/** A daily_notional rule scoped by more than one account or one strategy: counted under its own key. */
const isCompound = (r: RuleScope): boolean => r.instrument !== undefined || r.venue !== undefined || (r.account !== undefined && r.strategy !== undefined);

/** Where a daily_notional rule's usage is counted: global, strategy:S, account:A, or the rule's whole scope. */
export function dailyKey(r: RuleScope): string {
  if (!isCompound(r)) return r.strategy !== undefined ? `strategy:${r.strategy}` : r.account !== undefined ? `account:${r.account}` : 'global';
  return (['account', 'strategy', 'instrument', 'venue'] as const)
    .filter((k) => r[k] !== undefined)
    .map((k) => `${k}:${k === 'account' || k === 'strategy' ? r[k] : r[k]!.toUpperCase()}`)
    .join('|');
}

const quantityKey = (account: string, instrument: string, side: Side, qty: string): string => `${account}|${instrument}|${side}|${dec(qty).toString()} base`;

/**
 * What the duplicate guard compares: same account, instrument, side and size, the size as the
 * intent gave it (a notional buys another quantity once the book moves) and as a base quantity.
 */
export function duplicateKeys(i: Pick<NormalizedIntent, 'account' | 'venues' | 'side' | 'size' | 'qty'>): string[] {
  const quantity = quantityKey(i.account, i.venues[0], i.side, i.qty);
  if (i.size.type === 'quantity') return [quantity];
  return [`${i.account}|${i.venues[0]}|${i.side}|${dec(i.size.value).toString()} ${i.size.ccy}`, quantity];
}

function rememberRecent(s: RiskState, key: string, tsUs: number): void {
  s.recent.delete(key);
  s.recent.set(key, tsUs);
  // Oldest first (insertion order): drop what no window can reach.
  for (const [k, at] of s.recent) {
    if (tsUs - at <= RECENT_KEEP_US) break;
    s.recent.delete(k);
  }
}

export interface BucketRef {
  key: string;
  limit: number;
  perUs: number;
  rule: Extract<RiskRule, { rule: 'velocity' }>;
  /** The strategy, account or venue it counts. */
  who: string;
}

/** Velocity: each bucket holds up to its limit and refills at that rate per second or minute of event time. Only the rules whose scope covers the intent. */
export function bucketsFor(policy: RiskPolicy, i: NormalizedIntent): BucketRef[] {
  const out: BucketRef[] = [];
  for (const r of compilePolicy(policy).velocity) {
    if (!matches(r, i)) continue;
    const who = r.per === 'strategy' ? i.strategy : r.per === 'account' ? i.account : venueOf(i.venues[0]);
    if (r.max_per_second !== undefined) out.push({ key: `${r.index}/${who}/s`, limit: r.max_per_second, perUs: 1_000_000, rule: r, who });
    if (r.max_per_minute !== undefined) out.push({ key: `${r.index}/${who}/m`, limit: r.max_per_minute, perUs: 60_000_000, rule: r, who });
  }
  return out;
}

/** Tokens in a bucket at `tsUs` (a full bucket when never used; event time never runs backwards for it). */
export function tokensAt(b: TokenBucket | undefined, limit: number, perUs: number, tsUs: number): number {
  if (!b) return limit;
  const dt = Math.max(0, tsUs - b.at_us);
  return Math.min(limit, b.tokens + (dt * limit) / perUs);
}

function takeTokens(s: RiskState, policy: RiskPolicy, i: NormalizedIntent, tsUs: number): void {
  for (const b of bucketsFor(policy, i)) {
    const prev = s.buckets.get(b.key);
    const at = Math.max(tsUs, prev?.at_us ?? tsUs);
    s.buckets.set(b.key, { tokens: tokensAt(prev, b.limit, b.perUs, tsUs) - 1, at_us: at });
  }
}

/** The byStrategy book's key for a strategy's fills in one account. */
export const strategyKey = (strategy: string, account: string): string => `${strategy}\u0000${account}`;

/** An open intent's unfilled quantity went from what it was to `remaining`. */
function moveOpenQty(s: RiskState, open: OpenIntent, remaining: Dec): void {
  const delta = open.remaining.minus(remaining);
  if (delta.coef === 0n) return;
  addOpenQty(s, open.account, open.instrument_id, open.side === 'BUY' ? ZERO.minus(delta) : delta);
}

/** account → instrument → signed unfilled quantity of open intents; zeros removed. */
function addOpenQty(s: RiskState, account: string, instrument: string, signed: Dec): void {
  let m = s.openQty.get(account);
  if (!m) s.openQty.set(account, (m = new Map<string, Dec>()));
  const next = (m.get(instrument) ?? ZERO).plus(signed);
  if (next.coef !== 0n) m.set(instrument, next);
  else {
    m.delete(instrument);
    if (m.size === 0) s.openQty.delete(account);
  }
}

function bump(m: Map<string, number>, k: string, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** Loss-limit marks: the first PnL seen in a UTC day is that day's start; the peak only rises. */
function markPnl(s: RiskState, ts: string, pnl: Record<string, string>): void {
  const day = utcDay(ts);
  for (const [scope, v] of Object.entries(pnl)) {
    const now = dec(v);
    const m = s.pnl.get(scope);
    if (!m) s.pnl.set(scope, { day, day_start: now, peak: now });
    else if (day > m.day) s.pnl.set(scope, { day, day_start: now, peak: m.peak.gt(now) ? m.peak : now });
    else if (now.gt(m.peak)) s.pnl.set(scope, { ...m, peak: now });
  }
}

function orderFinished(s: RiskState, coid: string, failure: string | undefined): void {
  const id = s.orderIntent.get(coid);
  if (id === undefined) return;
  s.orderIntent.delete(coid);
  const open = s.open.get(id);
  if (!open) return;
  const live = open.live.filter((c) => c !== coid);
  if (live.length > 0) {
    s.open.set(id, { ...open, live });
    return;
  }
  s.open.delete(id);
  moveOpenQty(s, open, ZERO);
  bump(s.openCount, `account:${open.account}`, -1);
  bump(s.openCount, `strategy:${open.strategy}`, -1);
  if (open.flatten_id) {
    const f = s.flattens.get(open.flatten_id);
    if (!f) return;
    const pending = new Set(f.pending);
    pending.delete(id);
    const filled = f.filled.get(id) ?? ZERO;
    const failed = new Map(f.failed);
    if (filled.lt(f.closing.get(id)?.qty ?? ZERO))
      failed.set(id, failure ?? (filled.coef === 0n ? 'the closing order ended unfilled' : `the closing order ended with ${filled.toString()} filled`));
    s.flattens.set(open.flatten_id, { ...f, pending, failed });
  }
}

function flattenFilled(s: RiskState, flattenId: string, intentId: string, qty: Dec): void {
  const f = s.flattens.get(flattenId);
  if (!f) return;
  const filled = new Map(f.filled);
  filled.set(intentId, (filled.get(intentId) ?? ZERO).plus(qty));
  s.flattens.set(flattenId, { ...f, filled });
}

function flattenFailed(s: RiskState, flattenId: string, intentId: string, reason: string): void {
  const f = s.flattens.get(flattenId);
  if (!f) return;
  const pending = new Set(f.pending);
  pending.delete(intentId);
  const failed = new Map(f.failed);
  failed.set(intentId, reason);
  s.flattens.set(flattenId, { ...f, pending, failed });
}

/** True for the order events the risk fold reads from the gateway's topic. */
export function isGatewayFact(type: string): boolean {
  return type === 'OrderRouted' || type === 'OrderFilled' || type === 'OrderCanceled' || type === 'OrderRejected' || type === 'OrderExpired';
}
