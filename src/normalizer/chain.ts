// Intake of a chain (kind "chain" on exec.intents): each leg resolved to its instrument on the
// chain's venue with its rules, the currencies checked to run from the primary quote back to it,
// the books parsed. Pure.
import { dec, digits, fmt } from '../domain/decimal.js';
import type { ChainLeg, NormalizedChain } from '../domain/events.js';
import type { ChainIntent } from '../domain/intent.js';
import { microsToIso, parseRfc3339Micros } from '../domain/time.js';
import type { MarketData } from '../market/types.js';

/** A chain that cannot be run, and why. */
export interface ChainProblem {
  reason: string;
}

const MAX_DIGITS = 18;

/** A positive decimal with at most 18 digits on each side of the point, as a canonical string; undefined otherwise. */
function positive(v: string): string | undefined {
  const d = dec(v);
  if (d.coef <= 0n) return undefined;
  const n = digits(d);
  return n.int > MAX_DIGITS || n.frac > MAX_DIGITS ? undefined : fmt(d);
}

export function normalizeChain(c: ChainIntent, strategy: string, market: MarketData): NormalizedChain | ChainProblem {
  const venue = c.venue.toUpperCase();
  const primary = c.primary_quote.toUpperCase();
  const start = positive(c.starting_amount);
  if (!start) return { reason: `starting_amount must be a positive decimal, got ${c.starting_amount}` };
  if (c.books.length !== c.legs.length) return { reason: `${c.legs.length} legs need ${c.legs.length} books, got ${c.books.length}` };
  const listed = market.instruments().filter((s) => s.venue === venue);
  if (listed.length === 0) return { reason: `no instruments listed on venue ${venue}` };
  const legs: ChainLeg[] = [];
  let holding = primary;
  for (const [i, l] of c.legs.entries()) {
    const key = l.pair.toUpperCase().replace(/[-/_.]/g, '');
    const spec = listed.find((s) => s.symbol.toUpperCase().replace(/[-/_.]/g, '') === key);
    if (!spec) return { reason: `leg ${i}: ${l.pair} is not listed on ${venue}` };
    const input = l.side === 'BUY' ? spec.quote : spec.base;
    if (input !== holding) return { reason: `leg ${i} (${l.pair} ${l.side}) spends ${input}, but the chain holds ${holding} there` };
    holding = l.side === 'BUY' ? spec.base : spec.quote;
    const rule = (given: string | undefined, fallback: string, name: string): string | ChainProblem => {
      if (given === undefined) return fallback;
      const v = dec(given);
      return v.coef < 0n ? { reason: `leg ${i}: ${name} must not be negative` } : fmt(v);
    };
    const fields = {
      fee_rate: rule(l.fee_rate, spec.taker_fee, 'fee_rate'),
      base_increment: rule(l.base_increment, spec.lot_size, 'base_increment'),
      quote_increment: rule(l.quote_increment, '0', 'quote_increment'),
      base_min_size: rule(l.base_min_size, spec.min_qty, 'base_min_size'),
      quote_min_size: rule(l.quote_min_size, spec.min_notional, 'quote_min_size'),
    };
    for (const v of Object.values(fields)) if (typeof v !== 'string') return v;
    legs.push({
      instrument_id: spec.instrument_id,
      pair: l.pair,
      side: l.side,
      base: spec.base,
      quote: spec.quote,
      fee_rate: fields.fee_rate as string,
      fee_currency: (l.fee_currency ?? spec.quote).toUpperCase(),
      base_increment: fields.base_increment as string,
      quote_increment: fields.quote_increment as string,
      base_min_size: fields.base_min_size as string,
      quote_min_size: fields.quote_min_size as string,
    });
  }
  if (holding !== primary) return { reason: `the chain ends holding ${holding}, not the primary quote ${primary}` };
  const books: NormalizedChain['books'] = [];
  for (const [i, b] of c.books.entries()) {
    const side = (levels: [string, string][], name: string): [string, string][] | ChainProblem => {
      const out: [string, string][] = [];
      for (const [p, q] of levels) {
        const price = positive(p);
        const qty = positive(q);
        if (!price || !qty) return { reason: `book ${i}: ${name} level [${p}, ${q}] needs a positive price and quantity` };
        out.push([price, qty]);
      }
      return out;
    };
    const bids = side(b.bids, 'bids');
    const asks = side(b.asks, 'asks');
    if (!Array.isArray(bids)) return bids;
    if (!Array.isArray(asks)) return asks;
    books.push({ ts: iso(b.ts ?? c.book_ts), bids, asks });
  }
  const triangle = (c.triangle ?? [primary, ...legs.slice(0, -1).map((l) => (l.side === 'BUY' ? l.base : l.quote))]).map((x) => x.toUpperCase());
  return {
    chain_id: c.intent_id,
    ts: iso(c.ts),
    account: c.account,
    strategy,
    labels: c.labels,
    env: c.env,
    venue,
    mode: c.mode,
    primary_quote: primary,
    starting_amount: start,
    predicted_bps: fmt(dec(c.predicted_bps)),
    triangle,
    legs,
    books,
    book_ts: iso(c.book_ts),
    on_failure: c.on_failure,
    ...(c.signal_times ? { signal_times: Object.fromEntries(Object.entries(c.signal_times).map(([k, v]) => [k, iso(v)])) } : {}),
  };
}

/** An RFC 3339 time the schema checked, in canonical form. */
const iso = (t: string): string => microsToIso(parseRfc3339Micros(t)!);
