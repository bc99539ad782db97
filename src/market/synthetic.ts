// A deterministic synthetic market: every book is a pure function of (seed, instrument, 1 s bucket),
// so any event time can be priced without replaying history (backtests, crash recovery, tests).
// Only +,-,*,/ and integer hashing are used (no Math.random, no transcendental functions), so the
// same seed gives bit-identical books on every platform.
import { Big, type Dec, dec, digits } from '../domain/decimal.js';
import { BUILTIN_INSTRUMENTS, USD_LIKE } from './instruments.js';
import type { Book, BookLevel, InstrumentSpec, MarketData } from './types.js';

export const SYNTHETIC_BUCKET_US = 1_000_000;
export const SYNTHETIC_LEVELS = 20;

/** Reference USD prices the synthetic assets oscillate around (±~7%). USD-like quotes are 1. */
export const SYNTHETIC_ASSET_PRICES: Readonly<Record<string, number>> = {
  BTC: 65_000,
  ETH: 3_000,
  SOL: 150,
  BNB: 600,
  XRP: 0.6,
};

export interface SyntheticMarketOptions {
  seed?: number;
  instruments?: readonly InstrumentSpec[];
  /** Extra or overriding reference USD prices per asset, for instruments on other assets. */
  assetPrices?: Readonly<Record<string, number>>;
  /** Books cached per instrument (direct-mapped by bucket); default 64. */
  cacheSlots?: number;
}

// ---- hashing: a 32-bit integer mixer chained over small integer inputs ----

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

function hash(seed: number, stream: number, a: number, b: number): number {
  // b may exceed 32 bits (bucket indexes): fold in its high word separately.
  const lo = b >>> 0;
  const hi = Math.floor(b / 4294967296) | 0;
  let h = mix(seed ^ 0x6a09e667);
  h = mix(h ^ stream);
  h = mix(h ^ a);
  h = mix(h ^ lo);
  return mix(h ^ hi);
}

function strHash(s: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h >>> 0);
}

const unit = (h: number): number => h / 4294967296; // [0, 1)
const signed = (h: number): number => h / 2147483648 - 1; // [-1, 1)

/** Smoothly interpolated hash noise in [-1, 1) with features `period` buckets wide. */
function valueNoise(seed: number, stream: number, bucket: number, period: number): number {
  const i = Math.floor(bucket / period);
  const f = (bucket - i * period) / period;
  const v0 = signed(hash(seed, stream, period, i));
  const v1 = signed(hash(seed, stream, period, i + 1));
  const s = f * f * (3 - 2 * f);
  return v0 + (v1 - v0) * s;
}

// Octaves of the common (all-venue) price path: [period in buckets, relative amplitude].
const PRICE_OCTAVES: ReadonlyArray<readonly [number, number]> = [
  [86_400, 0.04],
  [14_400, 0.015],
  [3_600, 0.007],
  [600, 0.003],
  [60, 0.0012],
  [10, 0.0004],
];
const PRICE_JITTER = 0.0001; // per-bucket, so neighbouring seconds differ
// Per-venue deviation from the common price: a couple of bps, slowly varying.
const VENUE_OCTAVES: ReadonlyArray<readonly [number, number]> = [
  [600, 0.00015],
  [30, 0.00005],
];

const VENUE_DEPTH: Readonly<Record<string, number>> = { BINANCE: 1, OKX: 0.6, KUCOIN: 0.35 };
const BASE_DEPTH: Readonly<Record<string, number>> = { BTC: 1, ETH: 0.8, SOL: 0.4 };
/** USD notional of the first level on the deepest book; deeper levels grow linearly. */
const LEVEL_USD = 40_000;

interface Scaled {
  /** value = m × 10^-d */
  m: number;
  d: number;
  f: number; // as a float, for the price model only
  dec: Dec;
}

function scaled(s: string, what: string): Scaled {
  const x = dec(s);
  if (x.lte(0)) throw new RangeError(`${what} must be positive: ${s}`);
  const d = digits(x).frac;
  const m = Number(x.times(new Big(10).pow(d)).toFixed(0));
  return { m, d, f: Number(s), dec: x };
}

const DEC_TEMPLATE = new Big(1);

/**
 * n × 10^-d (n a non-negative safe integer) as an exact decimal. Books need ~80 of these per
 * build, so the digits are set on big.js's documented representation (coefficient c, exponent e,
 * sign s) instead of formatting and re-parsing a string (about 3x faster).
 */
function fromScaled(n: number, d: number): Dec {
  const x = new Big(DEC_TEMPLATE); // a copy: no string parse
  if (n === 0) {
    x.c = [0];
    x.e = 0;
    return x;
  }
  const rev: number[] = [];
  let k = n;
  while (k > 0) {
    const digit = k % 10;
    rev.push(digit);
    k = (k - digit) / 10;
  }
  let lo = 0;
  while (rev[lo] === 0) lo++; // big.js keeps no trailing zeros in c
  const c = new Array<number>(rev.length - lo);
  for (let i = rev.length - 1, j = 0; i >= lo; i--, j++) c[j] = rev[i];
  x.c = c;
  x.e = rev.length - 1 - d;
  return x;
}

interface InstrumentState {
  spec: InstrumentSpec;
  stream: number;
  baseStream: number;
  quoteStream: number;
  baseRef: number; // reference USD price, 0 for USD-like (fixed at 1)
  quoteRef: number;
  venueStream: number;
  tick: Scaled;
  lot: Scaled;
  minLots: number;
  maxLots: number;
  levelUsd: number;
  // direct-mapped cache: slot = bucket mod size
  cacheBuckets: Float64Array;
  cacheBooks: (Book | undefined)[];
}

class SyntheticMarket implements MarketData {
  private readonly specs: readonly InstrumentSpec[];
  private readonly byId = new Map<string, InstrumentState>();
  private readonly slots: number;

  constructor(
    private readonly seed: number,
    specs: readonly InstrumentSpec[],
    prices: Readonly<Record<string, number>>,
    slots: number,
  ) {
    this.specs = Object.freeze([...specs]);
    this.slots = slots;
    const refPrice = (asset: string, id: string): number => {
      if (USD_LIKE.has(asset)) return 0;
      const p = prices[asset];
      if (p === undefined || !(p > 0)) throw new Error(`synthetic market: no reference price for asset ${asset} (instrument ${id}); pass assetPrices`);
      return p;
    };
    for (const spec of this.specs) {
      const tick = scaled(spec.tick_size, `${spec.instrument_id} tick_size`);
      const lot = scaled(spec.lot_size, `${spec.instrument_id} lot_size`);
      const minLots = Math.max(1, Number(dec(spec.min_qty).div(lot.dec).round(0, Big.roundUp).toFixed(0)));
      const maxLots = Math.min(Number.MAX_SAFE_INTEGER, Number(dec(spec.max_qty).div(lot.dec).round(0, Big.roundDown).toFixed(0)));
      const baseRef = refPrice(spec.base, spec.instrument_id);
      const quoteRef = refPrice(spec.quote, spec.instrument_id);
      const quoteDepth = USD_LIKE.has(spec.quote) ? 1 : 0.3;
      this.byId.set(spec.instrument_id, {
        spec,
        stream: strHash(spec.instrument_id),
        baseStream: strHash('asset:' + spec.base),
        quoteStream: strHash('asset:' + spec.quote),
        baseRef,
        quoteRef,
        venueStream: strHash('venue:' + spec.venue),
        tick,
        lot,
        minLots,
        maxLots,
        levelUsd: LEVEL_USD * (VENUE_DEPTH[spec.venue] ?? 0.3) * (BASE_DEPTH[spec.base] ?? 0.3) * quoteDepth,
        cacheBuckets: new Float64Array(slots).fill(Number.NaN),
        cacheBooks: new Array<Book | undefined>(slots),
      });
    }
  }

  instruments(): readonly InstrumentSpec[] {
    return this.specs;
  }

  instrument(instrumentId: string): InstrumentSpec | undefined {
    return this.byId.get(instrumentId)?.spec;
  }

  bookAt(instrumentId: string, tsUs: number): Book | undefined {
    const st = this.byId.get(instrumentId);
    if (!st || !Number.isFinite(tsUs)) return undefined;
    const bucket = Math.floor(tsUs / SYNTHETIC_BUCKET_US);
    const slot = ((bucket % this.slots) + this.slots) % this.slots;
    if (st.cacheBuckets[slot] === bucket) return st.cacheBooks[slot];
    const book = this.build(st, bucket);
    st.cacheBuckets[slot] = bucket;
    st.cacheBooks[slot] = book;
    return book;
  }

  /** USD price of an asset on a venue at a bucket (1 for USD-like assets). */
  private usd(ref: number, assetStream: number, venueStream: number, bucket: number): number {
    if (ref === 0) return 1;
    let x = 0;
    for (const [period, amp] of PRICE_OCTAVES) x += amp * valueNoise(this.seed, assetStream, bucket, period);
    x += PRICE_JITTER * signed(hash(this.seed, assetStream, 1, bucket));
    const vs = (assetStream ^ venueStream) >>> 0;
    for (const [period, amp] of VENUE_OCTAVES) x += amp * valueNoise(this.seed, vs, bucket, period);
    return ref * (1 + x);
  }

  private build(st: InstrumentState, bucket: number): Book {
    const seed = this.seed;
    const baseUsd = this.usd(st.baseRef, st.baseStream, st.venueStream, bucket);
    const quoteUsd = this.usd(st.quoteRef, st.quoteStream, st.venueStream, bucket);
    const mid = baseUsd / quoteUsd;
    const tick = st.tick.f;
    const midTicks = mid / tick;
    const r = (k: number): number => unit(hash(seed, st.stream, k, bucket));

    // Half-spread 0.3–1 bp of the mid, never under half a tick: spread is at least one tick.
    const half = Math.max(0.5, (mid * (0.3 + 0.7 * r(1)) * 1e-4) / tick);
    let bidT = Math.floor(midTicks - half);
    let askT = Math.ceil(midTicks + half);
    if (askT <= bidT) askT = bidT + 1;
    const gap = (k: number): number => Math.max(1, Math.round((mid * 0.5e-4 * (0.4 + 1.2 * r(k))) / tick));

    const lotF = st.lot.f;
    const lots = (k: number, level: number): number => {
      const usd = st.levelUsd * (0.5 + 0.12 * level) * (0.4 + 1.2 * r(k));
      const n = Math.round(usd / baseUsd / lotF);
      return Math.min(st.maxLots, Math.max(st.minLots, n));
    };

    const bids: BookLevel[] = [];
    const asks: BookLevel[] = [];
    for (let i = 0; i < SYNTHETIC_LEVELS; i++) {
      if (i > 0) {
        bidT -= gap(100 + i);
        askT += gap(200 + i);
      }
      if (bidT >= 1) bids.push(Object.freeze({ price: fromScaled(bidT * st.tick.m, st.tick.d), qty: fromScaled(lots(300 + i, i) * st.lot.m, st.lot.d) }));
      asks.push(Object.freeze({ price: fromScaled(askT * st.tick.m, st.tick.d), qty: fromScaled(lots(400 + i, i) * st.lot.m, st.lot.d) }));
    }
    return Object.freeze({
      instrument_id: st.spec.instrument_id,
      ts_us: bucket * SYNTHETIC_BUCKET_US,
      bids: Object.freeze(bids) as BookLevel[],
      asks: Object.freeze(asks) as BookLevel[],
    });
  }
}

/**
 * The built-in market: all of BUILTIN_INSTRUMENTS (or the given ones), books for any time.
 * Returned books are shared and frozen: treat them as read-only.
 */
export function createSyntheticMarket(opts: SyntheticMarketOptions = {}): MarketData {
  const seed = (opts.seed ?? 1) >>> 0;
  const slots = Math.max(1, Math.floor(opts.cacheSlots ?? 64));
  return new SyntheticMarket(seed, opts.instruments ?? BUILTIN_INSTRUMENTS, { ...SYNTHETIC_ASSET_PRICES, ...opts.assetPrices }, slots);
}
