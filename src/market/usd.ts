// Quote-currency amounts in USD at an event time, through a QUOTE/USD-like book: the same venue's
// first, else any venue's. Pure: the book at a time is a function of the market data.
import type { Dec } from '../domain/decimal.js';
import { midPrice } from './book.js';
import { USD_LIKE } from './instruments.js';
import type { InstrumentSpec, MarketData } from './types.js';

/** VENUE/ASSET → ASSET/USD-like instruments, that venue's first; per instrument list (markets hand out one frozen list). */
const bridgesByList = new WeakMap<readonly InstrumentSpec[], Map<string, readonly InstrumentSpec[]>>();

function bridgesFor(market: MarketData, venue: string, asset: string): readonly InstrumentSpec[] {
  const list = market.instruments();
  let byKey = bridgesByList.get(list);
  if (!byKey) bridgesByList.set(list, (byKey = new Map<string, readonly InstrumentSpec[]>()));
  const key = `${venue}/${asset}`;
  let bridges = byKey.get(key);
  if (!bridges) {
    bridges = list.filter((s) => s.base === asset && USD_LIKE.has(s.quote)).sort((a, b) => Number(b.venue === venue) - Number(a.venue === venue));
    byKey.set(key, bridges);
  }
  return bridges;
}

/** USD per one unit of `spec`'s quote currency at `tsUs`; undefined when no bridge has a book then. */
export function usdPerQuote(market: MarketData, spec: Pick<InstrumentSpec, 'venue' | 'quote'>, tsUs: number): Dec | undefined {
  for (const b of bridgesFor(market, spec.venue, spec.quote)) {
    const mid = midPrice(market.bookAt(b.instrument_id, tsUs));
    if (mid) return mid;
  }
  return undefined;
}

/** `amount` of `spec`'s quote currency in USD at `tsUs`. */
export function toUsd(market: MarketData, amount: Dec, spec: Pick<InstrumentSpec, 'venue' | 'quote'>, tsUs: number): Dec | undefined {
  if (USD_LIKE.has(spec.quote)) return amount;
  const rate = usdPerQuote(market, spec, tsUs);
  return rate && amount.times(rate);
}
