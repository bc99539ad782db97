// A deterministic synthetic market: every book is a pure function of (seed, instrument, 1 s bucket),
// so any event time can be priced without replaying history (backtests, crash recovery, tests).
// Only +,-,*,/ and integer hashing are used (no Math.random, no transcendental functions), so the
// same seed gives bit-identical books on every platform.
import { Dec, RoundingMode, dec, digits } from '../domain/decimal.js';
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
// Hash values travel as int32, the same bits as the uint32 they stand for: V8 keeps an int32 as a
// small integer, while a uint32 above 2^31 becomes a heap number at every call.

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return h ^ (h >>> 15);
}

/** The chain's state after (seed, stream): fixed per instrument and stream, so computed once. */
function streamKey(seed: number, stream: number): number {
  return mix(mix(seed ^ 0x6a09e667) ^ stream);
}

/** Hash of (seed, stream, a, b), given key = streamKey(seed, stream). */
function hash(key: number, a: number, b: number): number {
  // b may exceed 32 bits (bucket indexes): fold in its high word separately. b | 0 keeps the low word's bits.
  const hi = Math.floor(b / 4294967296) | 0;
  return mix(mix(mix(key ^ a) ^ (b | 0)) ^ hi);
}

function strHash(s: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h);
}

const unit = (h: number): number => (h >>> 0) / 4294967296; // [0, 1)
const signed = (h: number): number => (h >>> 0) / 2147483648 - 1; // [-1, 1)

/** Smoothly interpolated hash noise in [-1, 1) with features `period` buckets wide. */
function valueNoise(key: number, bucket: number, period: number): number {
  const i = Math.floor(bucket / period);
  const f = (bucket - i * period) / period;
  const v0 = signed(hash(key, period, i));
  const v1 = signed(hash(key, period, i + 1));
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
  const m = Number(x.times(dec(10).pow(d)).toFixed(0));
  return { m, d, f: Number(s), dec: x };
}

/**
 * n × 10^-d (n a non-negative safe integer) as an exact decimal. Books need ~80 of these per
 * build, so the coefficient comes straight from the integer instead of formatting and parsing a
 * string. Trailing zeros are dropped, as dec() drops them, while n is still a cheap JS number.
 */
function fromScaled(n: number, d: number): Dec {
  while (d > 0 && n % 10 === 0) {
    n /= 10;
    d--;
  }
  return new Dec(BigInt(n), d);
}

interface InstrumentState {
  spec: InstrumentSpec;
  // stream keys: the book's own draws, the common price paths of base and quote, and this venue's deviation from them
  key: number;
  baseKey: number;
  quoteKey: number;
  baseVenueKey: number;
  quoteVenueKey: number;
  baseRef: number; // reference USD price, 0 for USD-like (fixed at 1)
  quoteRef: number;
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

  constructor(seed: number, specs: readonly InstrumentSpec[], prices: Readonly<Record<string, number>>, slots: number) {
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
      const minLots = Math.max(1, Number(dec(spec.min_qty).div(lot.dec).round(0, RoundingMode.Up).toFixed(0)));
      const maxLots = Math.min(Number.MAX_SAFE_INTEGER, Number(dec(spec.max_qty).div(lot.dec).round(0, RoundingMode.Down).toFixed(0)));
      const baseRef = refPrice(spec.base, spec.instrument_id);
      const quoteRef = refPrice(spec.quote, spec.instrument_id);
      const quoteDepth = USD_LIKE.has(spec.quote) ? 1 : 0.3;
      const baseStream = strHash('asset:' + spec.base);
      const quoteStream = strHash('asset:' + spec.quote);
      const venueStream = strHash('venue:' + spec.venue);
      this.byId.set(spec.instrument_id, {
        spec,
        key: streamKey(seed, strHash(spec.instrument_id)),
        baseKey: streamKey(seed, baseStream),
        quoteKey: streamKey(seed, quoteStream),
        baseVenueKey: streamKey(seed, baseStream ^ venueStream),
        quoteVenueKey: streamKey(seed, quoteStream ^ venueStream),
        baseRef,
        quoteRef,
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
  private usd(ref: number, assetKey: number, venueKey: number, bucket: number): number {
    if (ref === 0) return 1;
    let x = 0;
    for (const [period, amp] of PRICE_OCTAVES) x += amp * valueNoise(assetKey, bucket, period);
    x += PRICE_JITTER * signed(hash(assetKey, 1, bucket));
    for (const [period, amp] of VENUE_OCTAVES) x += amp * valueNoise(venueKey, bucket, period);
    return ref * (1 + x);
  }

  private build(st: InstrumentState, bucket: number): Book {
    const baseUsd = this.usd(st.baseRef, st.baseKey, st.baseVenueKey, bucket);
    const quoteUsd = this.usd(st.quoteRef, st.quoteKey, st.quoteVenueKey, bucket);
    const ladder = new Ladder(st, bucket, baseUsd);
    const mid = baseUsd / quoteUsd;
    const tick = st.tick.f;
    const midTicks = mid / tick;

    // Half-spread 0.3–1 bp of the mid, never under half a tick: spread is at least one tick.
    const half = Math.max(0.5, (mid * (0.3 + 0.7 * ladder.draw(1)) * 1e-4) / tick);
    let bidT = Math.floor(midTicks - half);
    let askT = Math.ceil(midTicks + half);
    if (askT <= bidT) askT = bidT + 1;
    const gap = (k: number): number => Math.max(1, Math.round((mid * 0.5e-4 * (0.4 + 1.2 * ladder.draw(k))) / tick));

    // Sized up front (growing by push reallocates); bids may stop short, before a zero price.
    const bids = new Array<BookLevel>(SYNTHETIC_LEVELS);
    const asks = new Array<BookLevel>(SYNTHETIC_LEVELS);
    let nBids = 0;
    for (let i = 0; i < SYNTHETIC_LEVELS; i++) {
      if (i > 0) {
        bidT -= gap(100 + i);
        askT += gap(200 + i);
      }
      if (bidT >= 1) bids[nBids++] = new SyntheticLevel(ladder, 2 * i, bidT);
      asks[i] = new SyntheticLevel(ladder, 2 * i + 1, askT);
    }
    bids.length = nBids;
    return Object.freeze({
      instrument_id: st.spec.instrument_id,
      ts_us: bucket * SYNTHETIC_BUCKET_US,
      bids: Object.freeze(bids) as BookLevel[],
      asks: Object.freeze(asks) as BookLevel[],
    });
  }
}

/**
 * What one book's levels are made of. A level's price is fixed when the book is built (as a tick
 * count); its size and the decimals of both are made when the level is first read, and kept:
 * readers look at the top few levels of a book, rarely at all forty. Level k is bid level k / 2
 * for an even k, else ask level (k - 1) / 2, so the top of both sides comes first in the cache.
 */
class Ladder {
  // price of level k at 2k, qty at 2k + 1; the array grows only as deeper levels are read
  private readonly decs: (Dec | undefined)[] = [];

  constructor(
    private readonly st: InstrumentState,
    private readonly bucket: number,
    private readonly baseUsd: number,
  ) {}

  /** The book's k-th uniform draw in [0, 1): 1 the half-spread, 100 + i / 200 + i the bid / ask gaps, 300 + i / 400 + i the sizes. */
  draw(k: number): number {
    return unit(hash(this.st.key, k, this.bucket));
  }

  price(k: number, ticks: number): Dec {
    return (this.decs[2 * k] ??= fromScaled(ticks * this.st.tick.m, this.st.tick.d));
  }

  qty(k: number): Dec {
    return (this.decs[2 * k + 1] ??= fromScaled(this.lots(k) * this.st.lot.m, this.st.lot.d));
  }

  /** Size in lots: USD depth growing with the level, randomised, clamped to the instrument's limits. */
  private lots(k: number): number {
    const st = this.st;
    const level = k >> 1;
    const usd = st.levelUsd * (0.5 + 0.12 * level) * (0.4 + 1.2 * this.draw((k & 1 ? 400 : 300) + level));
    const n = Math.round(usd / this.baseUsd / st.lot.f);
    return Math.min(st.maxLots, Math.max(st.minLots, n));
  }
}

/** A frozen book level whose decimals its ladder makes when read; it serializes as the plain {price, qty}. */
class SyntheticLevel implements BookLevel {
  readonly #ladder: Ladder;
  readonly #k: number;
  readonly #ticks: number;

  constructor(ladder: Ladder, k: number, ticks: number) {
    this.#ladder = ladder;
    this.#k = k;
    this.#ticks = ticks;
    Object.freeze(this);
  }

  get price(): Dec {
    return this.#ladder.price(this.#k, this.#ticks);
  }

  get qty(): Dec {
    return this.#ladder.qty(this.#k);
  }

  toJSON(): BookLevel {
    return { price: this.price, qty: this.qty };
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
