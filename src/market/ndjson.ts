// Recorded order books from an NDJSON file: one L2 snapshot per line.
//   {"ts":"2026-01-02T10:00:00Z","instrument_id":"BINANCE:BTCUSDT","bids":[["67999.9","0.5"]],"asks":[["68000.1","0.3"]]}
// A bad file is a configuration error: loading throws, naming the line and the problem.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Dec, dec, isDecimalString } from '../domain/decimal.js';
import { parseRfc3339Micros } from '../domain/time.js';
import { BUILTIN_INSTRUMENTS } from './instruments.js';
import type { Book, BookLevel, InstrumentSpec, MarketData } from './types.js';

export interface NdjsonMarketOptions {
  /** Instruments the market knows (default BUILTIN_INSTRUMENTS); snapshots of others are an error. */
  instruments?: readonly InstrumentSpec[];
}

export class MarketDataError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${source}:${line}: ${problem}`);
    this.name = 'MarketDataError';
  }
}

function parseLevels(v: unknown, sideName: string, isBid: boolean): BookLevel[] | string {
  if (!Array.isArray(v)) return `${sideName} must be an array of [price, qty] pairs`;
  const levels: BookLevel[] = [];
  for (let i = 0; i < v.length; i++) {
    const pair: unknown = v[i];
    if (!Array.isArray(pair) || pair.length !== 2) return `${sideName}[${i}] must be a [price, qty] pair`;
    const price = positive(pair[0]);
    if (!price) return `${sideName}[${i}]: price must be a positive decimal, got ${JSON.stringify(pair[0])}`;
    const qty = positive(pair[1]);
    if (!qty) return `${sideName}[${i}]: qty must be a positive decimal, got ${JSON.stringify(pair[1])}`;
    levels.push(Object.freeze({ price, qty }));
  }
  levels.sort(isBid ? (a, b) => b.price.cmp(a.price) : (a, b) => a.price.cmp(b.price));
  for (let i = 1; i < levels.length; i++) {
    if (levels[i].price.eq(levels[i - 1].price)) return `${sideName}: duplicate price level ${levels[i].price.toString()}`;
  }
  return levels;
}

function positive(x: unknown): Dec | undefined {
  let d: Dec;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) return undefined;
    d = dec(x);
  } else if (typeof x === 'string' && isDecimalString(x.trim())) {
    d = dec(x.trim());
  } else return undefined;
  return d.gt(0) ? d : undefined;
}

/** Collects snapshots line by line; `finish` turns them into a MarketData. */
class NdjsonBuilder {
  private readonly specs: Map<string, InstrumentSpec>;
  private readonly series = new Map<string, Book[]>();

  constructor(
    private readonly source: string,
    private readonly instruments: readonly InstrumentSpec[],
  ) {
    this.specs = new Map(instruments.map((s) => [s.instrument_id, s]));
  }

  add(text: string, lineNo: number): void {
    const line = text.trim();
    if (line === '') return;
    const fail = (problem: string): never => {
      throw new MarketDataError(this.source, lineNo, problem);
    };
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      fail(`invalid JSON: ${(e as Error).message}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('expected a JSON object snapshot');
    const o = v as Record<string, unknown>;
    if (typeof o.ts !== 'string') fail('ts must be an RFC 3339 time string, e.g. "2026-01-02T10:00:00Z"');
    const tsUs = parseRfc3339Micros(o.ts as string);
    if (tsUs === undefined) fail(`ts is not an RFC 3339 time: ${JSON.stringify(o.ts)}`);
    if (typeof o.instrument_id !== 'string' || o.instrument_id === '') fail('instrument_id must be a non-empty string (VENUE:SYMBOL)');
    const id = o.instrument_id as string;
    if (!this.specs.has(id)) fail(`unknown instrument ${JSON.stringify(id)} (known: ${[...this.specs.keys()].join(', ')})`);
    const bids = parseLevels(o.bids, 'bids', true);
    if (typeof bids === 'string') return fail(bids);
    const asks = parseLevels(o.asks, 'asks', false);
    if (typeof asks === 'string') return fail(asks);
    if (bids.length > 0 && asks.length > 0 && bids[0].price.gte(asks[0].price)) {
      fail(`crossed book: best bid ${bids[0].price.toString()} >= best ask ${asks[0].price.toString()}`);
    }
    const book: Book = Object.freeze({ instrument_id: id, ts_us: tsUs as number, bids: Object.freeze(bids) as BookLevel[], asks: Object.freeze(asks) as BookLevel[] });
    let list = this.series.get(id);
    if (!list) this.series.set(id, (list = []));
    list.push(book);
  }

  finish(): MarketData {
    const series = new Map<string, { ts: Float64Array; books: Book[] }>();
    for (const [id, books] of this.series) {
      // Stable sort: among equal timestamps the later line wins (bookAt takes the last one).
      books.sort((a, b) => a.ts_us - b.ts_us);
      series.set(id, { ts: Float64Array.from(books, (b) => b.ts_us), books });
    }
    return new RecordedMarket(this.instruments, this.specs, series);
  }
}

class RecordedMarket implements MarketData {
  private readonly list: readonly InstrumentSpec[];

  constructor(
    instruments: readonly InstrumentSpec[],
    private readonly specs: Map<string, InstrumentSpec>,
    private readonly series: Map<string, { ts: Float64Array; books: Book[] }>,
  ) {
    this.list = Object.freeze([...instruments]);
  }

  instruments(): readonly InstrumentSpec[] {
    return this.list;
  }

  instrument(instrumentId: string): InstrumentSpec | undefined {
    return this.specs.get(instrumentId);
  }

  bookAt(instrumentId: string, tsUs: number): Book | undefined {
    const s = this.series.get(instrumentId);
    if (!s || Number.isNaN(tsUs)) return undefined;
    // Upper bound: first index with ts > tsUs; the answer is the one before it.
    let lo = 0;
    let hi = s.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s.ts[mid] <= tsUs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : s.books[lo - 1];
  }
}

/** Market data from NDJSON text already in memory (`source` names it in errors). */
export function parseNdjsonMarket(text: string, opts: NdjsonMarketOptions & { source?: string } = {}): MarketData {
  const b = new NdjsonBuilder(opts.source ?? '<ndjson>', opts.instruments ?? BUILTIN_INSTRUMENTS);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) b.add(lines[i], i + 1);
  return b.finish();
}

/** Market data from an NDJSON file of book snapshots (streamed line by line). */
export async function loadNdjsonMarket(path: string, opts: NdjsonMarketOptions = {}): Promise<MarketData> {
  const b = new NdjsonBuilder(path, opts.instruments ?? BUILTIN_INSTRUMENTS);
  const input = createReadStream(path, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) b.add(line, ++n);
  } finally {
    rl.close();
    input.destroy();
  }
  return b.finish();
}
