// The native rules over one intent: trading states, gates, size limits (with revise) and loss
// limits. Pure: everything comes from the intent, the risk fold and the book at the intent's time.
import { Dec, ZERO, dec, floorTo, fmt } from '../domain/decimal.js';
import type { NormalizedIntent, RiskRejectCode, TradingMode } from '../domain/events.js';
import type { RiskRule } from '../domain/risk-policy.js';
import { isoToMicros } from '../domain/time.js';
import type { MarketData } from '../market/types.js';
import { Measure } from './measure.js';
import { RULE_CODES, compilePolicy, instrumentMatches, matches, venueOf, type Compiled, type CompiledPolicy } from './policy.js';
import { SEVERITY, bucketsFor, dailyKey, duplicateKeys, tokensAt, utcDay, type RiskState } from './state.js';

export interface Finding {
  code: string;
  reason: string;
}

/** A scope's trading state moving because a loss limit was breached. */
export interface Transition {
  scope: string;
  from: TradingMode;
  to: TradingMode;
  reason: string;
  by: RiskRejectCode;
}

export type Verdict =
  | { kind: 'reject'; code: RiskRejectCode; reason: string; transitions: Transition[]; warnings: Finding[]; pnl: Record<string, string> }
  | {
      kind: 'approve';
      intent: NormalizedIntent;
      revised?: { from_qty: string; to_qty: string; codes: string[] };
      warnings: Finding[];
      transitions: Transition[];
      pnl: Record<string, string>;
    };

export interface AssessOptions {
  /** Break-glass: only the safety rules apply (no states, gates, exposure or loss limits). */
  breakGlass?: boolean;
  /** A flatten's closing intent: the operator's, not a strategy's (strategy allow-list and stop-loss rules do not apply). */
  closing?: boolean;
}

/** Rules a break-glass flatten still obeys: they stop a closing order the book cannot take. */
const SAFETY: ReadonlySet<RiskRule['rule']> = new Set(['fat_finger', 'max_order_qty']);

export function assessIntent(state: RiskState, intent: NormalizedIntent, market: MarketData, o: AssessOptions = {}): Verdict {
  const c = compilePolicy(state.policy);
  const m = new Measure(state, market, isoToMicros(intent.ts));
  const warnings: Finding[] = [];
  const transitions: Transition[] = [];
  const pnl: Record<string, string> = {};
  const reject = (code: RiskRejectCode, reason: string): Verdict => ({ kind: 'reject', code, reason, transitions, warnings, pnl });
  let current = intent;

  if (!o.breakGlass) {
    // Loss limits first: a breach moves its scope, and the order is then judged under the new state.
    for (const r of c.losses) {
      if (!matches(r, current)) continue;
      const scope = r.strategy ? `strategy:${r.strategy}` : r.account ? `account:${r.account}` : 'global';
      const now = m.pnlUsd(scope);
      if (now === undefined) continue;
      pnl[scope] = fmt(now);
      const mark = state.pnl.get(scope);
      const day = utcDay(current.ts);
      const base = r.rule === 'daily_loss' ? (mark && mark.day === day ? mark.day_start : now) : mark && mark.peak.gt(now) ? mark.peak : now;
      const loss = base.minus(now);
      const limit = r.n.limit_usd;
      if (!loss.gt(limit)) continue;
      const what = r.rule === 'daily_loss' ? `daily loss ${fmt(loss)} USD` : `drawdown ${fmt(loss)} USD from the peak`;
      const reason = `${what} of ${scope} exceeds the limit of ${r.limit_usd} USD`;
      if (r.warn_only) {
        warnings.push({ code: RULE_CODES[r.rule], reason });
        continue;
      }
      const from = modeOf(state, scope, transitions);
      if (SEVERITY[r.then] > SEVERITY[from]) transitions.push({ scope, from, to: r.then, reason, by: RULE_CODES[r.rule] });
    }

    // Trading states: HALTED stops everything; REDUCING lets through only what reduces a position.
    if (c.halted) return reject('HALTED', 'trading is halted: the policy in force sets the halt latch');
    let reducing: string | undefined;
    for (const scope of ['global', `account:${current.account}`, `strategy:${current.strategy}`]) {
      const mode = modeOf(state, scope, transitions);
      if (mode === 'ACTIVE') continue;
      const why = transitions.find((t) => t.scope === scope)?.reason ?? state.standings.get(scope)?.reason ?? '';
      if (mode === 'HALTED') {
        const by = transitions.find((t) => t.scope === scope)?.by;
        return reject(by ?? 'HALTED', `${scope} is HALTED${why ? ` (${why})` : ''}: only an operator's resume clears it`);
      }
      reducing ??= `${scope} is REDUCING${why ? ` (${why})` : ''}`;
    }
    if (reducing && !reduces(m, current)) {
      return reject(
        'REDUCE_ONLY',
        `${reducing}: only orders that reduce a position pass, and this ${current.side} of ${current.qty} does not reduce ${current.base}/${current.quote} of ${current.account}`,
      );
    }

    // Gates: no size involved.
    const gated = gates(state, c, m, current, warnings, o.closing ?? false);
    if ('code' in gated) return reject(gated.code, gated.reason);
    current = gated.intent;
  }

  // Size limits: each allows some largest quantity. The revising ones cut the order to the least
  // of theirs; the others (and warn_only) then judge the order as it would go out.
  const qty = dec(current.qty);
  const unitUsd = qty.coef === 0n ? ZERO : dec(current.notional_usd).div(qty);
  const usdOf = (q: Dec): Dec => (q.eq(qty) ? dec(current.notional_usd) : q.times(unitUsd));
  let cutTo: Dec | undefined;
  const cutCodes: string[] = [];
  const judged: { code: RiskRejectCode; limit: SizeLimit; warn: boolean }[] = [];
  for (const r of c.sizes) {
    if (o.breakGlass && !SAFETY.has(r.rule)) continue;
    if (!matches(r, current)) continue;
    const limit = sizeLimit(r, state, c, m, current, unitUsd, usdOf);
    if ('code' in limit) {
      if (r.warn_only) warnings.push(limit);
      else return reject(limit.code, limit.reason);
      continue;
    }
    if (!exceeds(limit, qty, usdOf)) continue;
    const code = r.rule === 'order_size' ? 'ORDER_SIZE_MAX' : RULE_CODES[r.rule];
    if ('revise' in r && r.revise && !r.warn_only) {
      cutTo = cutTo === undefined || limit.allowed.lt(cutTo) ? limit.allowed : cutTo;
      cutCodes.push(code);
    } else judged.push({ code, limit, warn: r.warn_only === true });
  }
  let revised: { from_qty: string; to_qty: string; codes: string[] } | undefined;
  let final = qty;
  if (cutTo !== undefined) {
    const spec = market.instrument(current.venues[0]);
    const lot = spec ? dec(spec.lot_size) : undefined;
    const to = lot && lot.coef > 0n ? floorTo(cutTo, lot) : cutTo;
    const minQty = spec ? dec(spec.min_qty) : ZERO;
    const minNotional = spec ? dec(spec.min_notional) : ZERO;
    const minUsd = minimumUsd(c, current);
    if (to.coef <= 0n || to.lt(minQty) || to.times(dec(current.ref_price)).lt(minNotional) || (minUsd !== undefined && usdOf(to).lt(minUsd))) {
      const minimum = `${current.venues[0]}'s minimum (${spec?.min_qty ?? '?'} ${current.base}, ${spec?.min_notional ?? '?'} ${current.quote})${minUsd !== undefined ? ` or the order_size minimum of ${fmt(minUsd)} USD` : ''}`;
      return reject(cutCodes[0] as RiskRejectCode, `${cutCodes.join(', ')}: the limits allow ${fmt(cutTo)} ${current.base}, below ${minimum} — cannot revise`);
    }
    final = to;
  }
  for (const j of judged) {
    if (!exceeds(j.limit, final, usdOf)) continue;
    if (j.warn) warnings.push({ code: j.code, reason: j.limit.reason(final) });
    else return reject(j.code, j.limit.reason(final));
  }
  if (cutTo !== undefined) {
    revised = { from_qty: current.qty, to_qty: fmt(final), codes: cutCodes };
    current = resized(current, final, dec(current.ref_price), unitUsd);
  }
  return { kind: 'approve', intent: current, ...(revised ? { revised } : {}), warnings, transitions, pnl };
}

function modeOf(state: RiskState, scope: string, transitions: readonly Transition[]): TradingMode {
  let mode: TradingMode = state.standings.get(scope)?.mode ?? 'ACTIVE';
  for (const t of transitions) if (t.scope === scope && SEVERITY[t.to] > SEVERITY[mode]) mode = t.to;
  return mode;
}

/** True when the order (with the account's open intents on the same side) only takes the position toward flat. */
export function reduces(m: Measure, i: NormalizedIntent): boolean {
  let held = ZERO;
  let sameSide = ZERO;
  const buy = i.side === 'BUY';
  for (const t of m.terms(i.account)) {
    const spec = m.market.instrument(t.instrument_id);
    if (!spec || spec.base !== i.base || spec.quote !== i.quote) continue;
    const pos = m.state.positions.positions.get(i.account)?.get(t.instrument_id)?.qty ?? ZERO;
    held = held.plus(pos);
    const open = t.qty.minus(pos);
    if (open.coef !== 0n && open.coef > 0n === buy) sameSide = sameSide.plus(open.abs());
  }
  if (held.coef === 0n || held.coef > 0n === buy) return false;
  return !dec(i.qty).plus(sameSide).gt(held.abs());
}

type Gated = { intent: NormalizedIntent } | { code: RiskRejectCode; reason: string };

function gates(state: RiskState, c: CompiledPolicy, m: Measure, intent: NormalizedIntent, warnings: Finding[], closing: boolean): Gated {
  let venues = intent.venues;
  const narrowed = (): NormalizedIntent => (venues === intent.venues ? intent : { ...intent, venues });
  if (c.allowList) {
    const allowed = c.allowList;
    venues = allowed.has(`${intent.base}/${intent.quote}`) ? venues : venues.filter((v) => allowed.has(v));
    if (venues.length === 0) return { code: 'INSTRUMENT_NOT_ALLOWED', reason: `${intent.instrument_id} is not on the instrument allow-list` };
  }
  for (const r of c.gates) {
    const candidate = narrowed();
    if (r.rule === 'trading_window' || r.rule === 'restricted_instruments') {
      // Per candidate venue: the ones it excludes are dropped; only when none is left does it reject.
      const kept = venues.filter((v) => !(scopeMatches(r, candidate) && excludes(r, v, intent, m.tsUs)));
      if (kept.length === venues.length) continue;
      const reason =
        r.rule === 'trading_window'
          ? `${venues.filter((v) => !kept.includes(v)).join(', ')} outside its trading window (${r.days.join(',')} ${r.open}–${r.close} ${r.time_zone}) at ${intent.ts}`
          : `${intent.base}/${intent.quote} on ${venues.filter((v) => !kept.includes(v)).join(', ')} is restricted`;
      if (r.warn_only) {
        warnings.push({ code: RULE_CODES[r.rule], reason });
        continue;
      }
      if (kept.length === 0) return { code: RULE_CODES[r.rule], reason };
      venues = kept;
      continue;
    }
    if (!matches(r, candidate)) continue;
    const breach = gate(r, state, m, candidate, closing);
    if (!breach) continue;
    if (r.warn_only) warnings.push(breach);
    else return breach;
  }
  // Velocity and duplicates read state the fold keeps per rule.
  if (c.velocity.length > 0) {
    for (const b of bucketsFor(state.policy, narrowed())) {
      if (tokensAt(state.buckets.get(b.key), b.limit, b.perUs, m.tsUs) >= 1) continue;
      const reason = `${b.rule.per} ${b.who} is at its limit of ${b.limit} orders per ${b.perUs === 1_000_000 ? 'second' : 'minute'}`;
      if (b.rule.warn_only) warnings.push({ code: 'VELOCITY', reason });
      else return { code: 'VELOCITY', reason };
    }
  }
  if (c.duplicateWindowsMs.length > 0) {
    const keys = duplicateKeys(narrowed());
    for (const r of state.policy.rules ?? []) {
      if (r.rule !== 'duplicate_guard' || !matches(r, narrowed())) continue;
      let last: number | undefined;
      for (const k of keys) {
        const at = state.recent.get(k);
        if (at !== undefined && (last === undefined || at > last)) last = at;
      }
      if (last === undefined || m.tsUs - last >= r.window_ms * 1000) continue;
      const reason = `the same order (${intent.account} ${intent.side} ${intent.size.value} ${intent.size.ccy} on ${venues[0]}) was approved ${Math.round((m.tsUs - last) / 1000)} ms earlier, inside the ${r.window_ms} ms duplicate window`;
      if (r.warn_only) warnings.push({ code: 'DUPLICATE_ORDER', reason });
      else return { code: 'DUPLICATE_ORDER', reason };
    }
  }
  return { intent: narrowed() };
}

/** A rule's account/strategy scope, without its instrument or venue (those pick venues here). */
function scopeMatches(r: { account?: string; strategy?: string }, i: NormalizedIntent): boolean {
  return (r.account === undefined || r.account === i.account) && (r.strategy === undefined || r.strategy === i.strategy);
}

/** Whether the rule takes this candidate venue instrument out: restricted there, or outside its window there. */
function excludes(r: Extract<RiskRule, { rule: 'trading_window' | 'restricted_instruments' }>, venueInstrument: string, i: NormalizedIntent, tsUs: number): boolean {
  if (r.venue !== undefined && r.venue.toUpperCase() !== venueOf(venueInstrument)) return false;
  if (r.instrument !== undefined && !instrumentMatches(r.instrument, venueInstrument, i.base, i.quote)) return false;
  if (r.rule === 'restricted_instruments') return r.instruments.some((p) => instrumentMatches(p, venueInstrument, i.base, i.quote));
  return !inWindow(r, tsUs);
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
const DAY_NAMES: Record<string, string> = { Mon: 'MON', Tue: 'TUE', Wed: 'WED', Thu: 'THU', Fri: 'FRI', Sat: 'SAT', Sun: 'SUN' };

/** Day and HH:MM of an event time in a time zone. */
function localTime(timeZone: string, tsUs: number): { day: string; hhmm: string } {
  // Every zone's offset is whole minutes: one answer serves a whole UTC minute.
  const minute = Math.floor(tsUs / 60_000_000);
  const key = `${timeZone} ${minute}`;
  const hit = lastLocal.get(timeZone);
  if (hit && hit.key === key) return hit.at;
  const at = formatLocal(timeZone, minute * 60_000);
  lastLocal.set(timeZone, { key, at });
  return at;
}

/** The last minute asked of each zone (intents come in time order, so most ask the same one). */
const lastLocal = new Map<string, { key: string; at: { day: string; hhmm: string } }>();

function formatLocal(timeZone: string, ms: number): { day: string; hhmm: string } {
  let f = zoneFormats.get(timeZone);
  if (!f) zoneFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  let day = '';
  let h = '';
  let min = '';
  for (const p of f.formatToParts(new Date(ms))) {
    if (p.type === 'weekday') day = DAY_NAMES[p.value] ?? p.value;
    else if (p.type === 'hour') h = p.value;
    else if (p.type === 'minute') min = p.value;
  }
  return { day, hhmm: `${h}:${min}` };
}

const PREVIOUS_DAY: Record<string, string> = { MON: 'SUN', TUE: 'MON', WED: 'TUE', THU: 'WED', FRI: 'THU', SAT: 'FRI', SUN: 'SAT' };

/** Inside [open, close) on a listed day; a window whose close is before its open runs past midnight into the next day. */
export function inWindow(r: { time_zone: string; days: readonly string[]; open: string; close: string }, tsUs: number): boolean {
  const { day, hhmm } = localTime(r.time_zone, tsUs);
  if (r.open <= r.close) return r.days.includes(day) && hhmm >= r.open && hhmm < r.close;
  return (r.days.includes(day) && hhmm >= r.open) || (r.days.includes(PREVIOUS_DAY[day]) && hhmm < r.close);
}

function gate(r: Compiled, state: RiskState, m: Measure, i: NormalizedIntent, closing: boolean): (Finding & { code: RiskRejectCode }) | undefined {
  switch (r.rule) {
    // A flatten's closing intents are the operator's, not a strategy's: the rules about which
    // strategies trade and how they must open positions do not apply to them.
    case 'strategy_allow':
      return r.strategies.includes(i.strategy) || closing
        ? undefined
        : { code: 'STRATEGY_NOT_ALLOWED', reason: `strategy ${i.strategy} is not on the strategy allow-list (${r.strategies.join(', ') || 'empty'})` };
    case 'stop_loss_required':
      return !r.strategies.includes(i.strategy) || i.stop_loss !== undefined || closing
        ? undefined
        : { code: 'STOP_LOSS_REQUIRED', reason: `strategy ${i.strategy} must give a stop_loss with every order` };
    case 'price_band': {
      if (i.limit_price === undefined) return undefined;
      const mid = m.mark(i.venues[0]);
      if (!mid) return { code: 'NO_MARKET_DATA', reason: `no book for ${i.venues[0]} at ${i.ts} to check the price band against` };
      const bps = dec(i.limit_price).minus(mid).abs().times(10_000).div(mid);
      return bps.gt(r.max_bps)
        ? { code: 'PRICE_BAND', reason: `limit price ${i.limit_price} is ${fmt(bps.round(2))} bps from the mid ${fmt(mid)}, beyond the band of ${r.max_bps} bps` }
        : undefined;
    }
    case 'max_open_orders': {
      // Per strategy when the rule names one, else per account; on the rule's instrument or venue when it names one.
      const key = r.strategy !== undefined ? `strategy:${i.strategy}` : `account:${i.account}`;
      let n = 0;
      if (r.instrument === undefined && r.venue === undefined) n = state.openCount.get(key) ?? 0;
      else {
        for (const o of state.open.values()) {
          if (r.strategy !== undefined ? o.strategy !== i.strategy : o.account !== i.account) continue;
          if (r.venue !== undefined && r.venue.toUpperCase() !== venueOf(o.instrument_id)) continue;
          if (r.instrument !== undefined && !instrumentMatches(r.instrument, o.instrument_id, o.base, o.quote)) continue;
          n++;
        }
      }
      const where = [r.instrument, r.venue].filter((x) => x !== undefined).join(' ');
      return n >= r.limit ? { code: 'MAX_OPEN_ORDERS', reason: `${key} has ${n} open orders${where ? ` on ${where}` : ''}, at its limit of ${r.limit}` } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * What a size rule allows this order: the largest quantity (what a revise cuts to) and, for limits
 * in USD, the USD amount itself, so an order is judged on its own notional, exactly.
 */
interface SizeLimit {
  allowed: Dec;
  usd?: Dec;
  /** Why an order of quantity q breaches it. */
  reason(q: Dec): string;
}

function exceeds(l: SizeLimit, q: Dec, usdOf: (q: Dec) => Dec): boolean {
  return l.usd !== undefined ? usdOf(q).gt(l.usd) : q.gt(l.allowed);
}

/** a / b rounded down (b > 0): a quantity that stays within the amount it was divided from. */
function divDown(a: Dec, b: Dec): Dec {
  const q = a.div(b);
  return q.times(b).gt(a) ? q.minus(new Dec(1n, q.scale)) : q;
}

/** What a size rule allows this order, or a finding when it cannot be measured. */
function sizeLimit(
  r: Compiled,
  state: RiskState,
  c: CompiledPolicy,
  m: Measure,
  i: NormalizedIntent,
  unitUsd: Dec,
  usdOf: (q: Dec) => Dec,
): SizeLimit | (Finding & { code: RiskRejectCode }) {
  const inUsd = (usd: Dec, reason: (q: Dec) => string): SizeLimit => ({
    allowed: usd.coef <= 0n ? ZERO : unitUsd.coef === 0n ? usd : divDown(usd, unitUsd),
    usd,
    reason,
  });
  const buy = i.side === 'BUY';
  const signed = (q: Dec) => (buy ? q : ZERO.minus(q));
  switch (r.rule) {
    case 'max_order_notional':
      return inUsd(r.n.limit_usd, (q) => `order notional ${fmt(usdOf(q))} USD exceeds the limit of ${r.limit_usd} USD`);
    case 'max_order_qty':
      return { allowed: r.n.limit, reason: (q) => `order quantity ${fmt(q)} ${i.base} exceeds the limit of ${r.limit} ${i.base} for ${r.instrument}` };
    case 'order_size': {
      if (r.min_usd !== undefined && dec(i.notional_usd).lt(r.n.min_usd)) {
        return { code: 'ORDER_SIZE_MIN', reason: `order notional ${i.notional_usd} USD is below ${venueOf(i.venues[0])}'s minimum of ${r.min_usd} USD` };
      }
      return r.max_usd === undefined
        ? { allowed: dec(i.qty), reason: () => '' }
        : inUsd(r.n.max_usd, (q) => `order notional ${fmt(usdOf(q))} USD exceeds ${venueOf(i.venues[0])}'s maximum of ${r.max_usd} USD`);
    }
    case 'fat_finger': {
      const book = m.market.bookAt(i.venues[0], m.tsUs);
      if (!book) return { code: 'NO_MARKET_DATA', reason: `no book for ${i.venues[0]} at ${i.ts} to check the order against its depth` };
      const levels = r.levels ?? 10;
      let visible = ZERO;
      for (const l of (buy ? book.asks : book.bids).slice(0, levels)) visible = visible.plus(l.qty);
      return {
        allowed: visible.times(r.n.max_share_of_depth),
        reason: (q) => `order quantity ${fmt(q)} ${i.base} is more than ${r.max_share_of_depth} of the ${fmt(visible)} ${i.base} visible in ${levels} levels of ${i.venues[0]}`,
      };
    }
    case 'position_limit': {
      const venueOnly = r.instrument?.includes(':') ?? false;
      let resulting = ZERO;
      for (const t of m.terms(i.account)) {
        if (venueOnly ? t.instrument_id !== i.venues[0] : !samePair(m.market, t.instrument_id, i)) continue;
        resulting = resulting.plus(t.qty);
      }
      const room = buy ? r.n.limit.minus(resulting) : r.n.limit.plus(resulting);
      return {
        allowed: nonNegative(room),
        reason: (q) => `resulting position ${fmt(resulting.plus(signed(q)))} ${i.base} in ${i.base}/${i.quote} of ${i.account} exceeds the limit of ${r.limit}`,
      };
    }
    case 'gross_exposure':
    case 'net_exposure':
    case 'leverage': {
      const account = r.rule !== 'leverage' && r.book ? undefined : i.account;
      let limit = r.rule === 'leverage' ? undefined : r.n.limit_usd;
      let equity = ZERO;
      if (r.rule === 'leverage') {
        const capital = c.equity.get(i.account) ?? c.equity.get('*');
        if (capital === undefined) return { code: 'LEVERAGE', reason: `no equity is known for account ${i.account}: give equity_usd in the policy` };
        const pnl = m.pnlUsd(`account:${i.account}`);
        if (pnl === undefined) return { code: 'NO_MARKET_DATA', reason: `cannot mark the positions of ${i.account} at ${i.ts} for its equity` };
        equity = capital.plus(pnl);
        if (equity.coef <= 0n) return { code: 'LEVERAGE', reason: `account ${i.account} has no equity left (${fmt(equity)} USD)` };
        limit = equity.times(r.n.max);
      }
      const unit = m.unitUsd(i.venues[0], i.quote);
      if (!unit || unit.coef === 0n) return { code: 'NO_MARKET_DATA', reason: `no mark for ${i.venues[0]} at ${i.ts}` };
      const ex = m.exposure(account, i.account, i.venues[0]);
      if ('unmarked' in ex) return { code: 'NO_MARKET_DATA', reason: `no mark for ${ex.unmarked} at ${i.ts} to measure exposure` };
      const others = r.rule === 'net_exposure' ? ex.net : ex.gross;
      const own = ex.own;
      const L = limit!;
      const net = r.rule === 'net_exposure';
      // net: |others + (own ± q)·unit| ≤ L; gross: others + |own ± q|·unit ≤ L
      const x = divDown(net ? (buy ? L.minus(others) : L.plus(others)) : L.minus(others), unit);
      const room = buy ? x.minus(own) : x.plus(own);
      const after = (q: Dec): Dec => {
        const held = own.plus(signed(q)).times(unit);
        return net ? others.plus(held) : others.plus(held.abs());
      };
      const reason = (q: Dec): string =>
        r.rule === 'leverage'
          ? `leverage of ${i.account} would be ${fmt(after(q).div(equity).round(4))}×, above ${r.max}× its equity of ${fmt(equity.round(2))} USD`
          : `${net ? 'net' : 'gross'} exposure of ${account ?? 'the book'} would be ${fmt(after(q).round(2))} USD, above the limit of ${r.limit_usd} USD`;
      return { allowed: nonNegative(room), reason };
    }
    case 'daily_notional': {
      const key = dailyKey(r);
      const used = state.daily.day === utcDay(i.ts) ? (state.daily.notional.get(key) ?? ZERO) : ZERO;
      return inUsd(r.n.limit_usd.minus(used), (q) => `${key} has used ${fmt(used)} of its ${r.limit_usd} USD daily notional; this order adds ${fmt(usdOf(q))} USD`);
    }
    default:
      return { allowed: dec(i.qty), reason: () => '' };
  }
}

function samePair(market: MarketData, instrumentId: string, i: NormalizedIntent): boolean {
  if (instrumentId === i.venues[0]) return true;
  const spec = market.instrument(instrumentId);
  return spec !== undefined && spec.base === i.base && spec.quote === i.quote;
}

const nonNegative = (d: Dec): Dec => (d.coef < 0n ? ZERO : d);

/** The order_size minimum (USD) that applies to the intent, if any. */
function minimumUsd(c: CompiledPolicy, i: NormalizedIntent): Dec | undefined {
  let min: Dec | undefined;
  for (const r of c.sizes) if (r.rule === 'order_size' && r.min_usd !== undefined && matches(r, i) && (min === undefined || r.n.min_usd.gt(min))) min = r.n.min_usd;
  return min;
}

/** The intent cut to `qty`: a quantity-sized intent at the same price. */
function resized(i: NormalizedIntent, qty: Dec, refPrice: Dec, unitUsd: Dec): NormalizedIntent {
  const q = fmt(qty);
  return { ...i, qty: q, size: { type: 'quantity', value: q, ccy: i.base }, notional: fmt(qty.times(refPrice)), notional_usd: fmt(qty.times(unitUsd)) };
}
