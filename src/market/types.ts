// Market reference data and order books, as the normalizer, router and simulated venue see them.
import type { Dec } from '../domain/decimal.js';

/** Trading rules and fees of one instrument on one venue. Decimals as strings. */
export interface InstrumentSpec {
  instrument_id: string; // VENUE:SYMBOL
  venue: string;
  symbol: string;
  base: string;
  quote: string;
  tick_size: string; // price increment
  lot_size: string; // quantity increment (step)
  min_qty: string;
  max_qty: string;
  min_notional: string; // in quote currency
  maker_fee: string; // rate, e.g. "0.001" = 10 bps
  taker_fee: string;
}

export interface BookLevel {
  price: Dec;
  qty: Dec;
}

/** An L2 snapshot: bids best (highest) first, asks best (lowest) first. */
export interface Book {
  instrument_id: string;
  ts_us: number;
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface MarketData {
  instruments(): readonly InstrumentSpec[];
  instrument(instrumentId: string): InstrumentSpec | undefined;
  /** The latest book at or before tsUs (event time, epoch µs); undefined when there is none. */
  bookAt(instrumentId: string, tsUs: number): Book | undefined;
}
