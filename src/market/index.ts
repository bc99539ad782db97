// Market data: instrument registry, order books (synthetic or recorded) and book helpers.
export type { Book, BookLevel, InstrumentSpec, MarketData } from './types.js';
export { BUILTIN_INSTRUMENTS, DEFAULT_VENUE_PREFERENCE, USD_LIKE } from './instruments.js';
export { createSyntheticMarket, SYNTHETIC_ASSET_PRICES, SYNTHETIC_BUCKET_US, SYNTHETIC_LEVELS, type SyntheticMarketOptions } from './synthetic.js';
export { loadNdjsonMarket, parseNdjsonMarket, MarketDataError, type NdjsonMarketOptions } from './ndjson.js';
export {
  bestAsk,
  bestBid,
  depth,
  levelsTaken,
  midPrice,
  quantityForNotional,
  spreadBps,
  touchPrice,
  vwapForQuantity,
  walkForQuantity,
  withinLimit,
  type BookWalk,
} from './book.js';
