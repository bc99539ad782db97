// Built-in instrument registry: the venues and symbols fillstream knows without configuration.
// Rules approximate each venue's published filters (tick, step, minimums) and base fee tiers.
import type { InstrumentSpec } from './types.js';

const spec = (
  venue: string,
  symbol: string,
  base: string,
  quote: string,
  tick: string,
  lot: string,
  minQty: string,
  minNotional: string,
  maker: string,
  taker: string,
  maxQty = '9000000',
): InstrumentSpec => ({
  instrument_id: `${venue}:${symbol}`,
  venue,
  symbol,
  base,
  quote,
  tick_size: tick,
  lot_size: lot,
  min_qty: minQty,
  max_qty: maxQty,
  min_notional: minNotional,
  maker_fee: maker,
  taker_fee: taker,
});

export const BUILTIN_INSTRUMENTS: readonly InstrumentSpec[] = [
  spec('BINANCE', 'BTCUSDT', 'BTC', 'USDT', '0.01', '0.00001', '0.00001', '5', '0.001', '0.001', '9000'),
  spec('BINANCE', 'ETHUSDT', 'ETH', 'USDT', '0.01', '0.0001', '0.0001', '5', '0.001', '0.001', '9000'),
  spec('BINANCE', 'ETHBTC', 'ETH', 'BTC', '0.00001', '0.0001', '0.0001', '0.0001', '0.001', '0.001', '100000'),
  spec('BINANCE', 'SOLUSDT', 'SOL', 'USDT', '0.01', '0.001', '0.001', '5', '0.001', '0.001', '90000'),
  spec('OKX', 'BTC-USDT', 'BTC', 'USDT', '0.1', '0.00000001', '0.00001', '1', '0.0008', '0.001', '10000'),
  spec('OKX', 'ETH-USDT', 'ETH', 'USDT', '0.01', '0.000001', '0.0001', '1', '0.0008', '0.001', '100000'),
  spec('KUCOIN', 'BTC-USDT', 'BTC', 'USDT', '0.1', '0.00000001', '0.00001', '0.1', '0.001', '0.001', '10000'),
  spec('KUCOIN', 'ETH-USDT', 'ETH', 'USDT', '0.01', '0.0000001', '0.0001', '0.1', '0.001', '0.001', '100000'),
];

/** Venue preference when an intent names a bare symbol (the smart router replaces this later). Frozen: the normalizer caches rankings per preference list. */
export const DEFAULT_VENUE_PREFERENCE: readonly string[] = Object.freeze(['BINANCE', 'OKX', 'KUCOIN']);

/** Quote currencies counted 1:1 as USD for notional limits. */
export const USD_LIKE = new Set(['USD', 'USDT', 'USDC', 'BUSD', 'FDUSD']);
