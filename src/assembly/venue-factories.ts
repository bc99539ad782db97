// The live venue gateways this build carries, by venue name: each turns a venue's config (URLs,
// keys already read) into an adapter behind the venue seam.
import type { MarketData } from '../market/types.js';
import type { FaultSwitches } from '../venues/emulator/admin.js';
import type { EmulatedExchange } from '../venues/emulator/exchange.js';
import type { VenueAdapter } from '../venues/types.js';
import { createBinanceAdapter, startBinanceEmulator } from '../venues/binance/index.js';
import { createOkxAdapter, startOkxEmulator } from '../venues/okx/index.js';
import { createKucoinAdapter, startKucoinEmulator } from '../venues/kucoin/index.js';

export type VenueName = 'BINANCE' | 'OKX' | 'KUCOIN';

/** What every venue factory takes; each venue reads the fields it uses. */
export interface AdapterConfig {
  env: 'staging' | 'prod';
  rest_url: string;
  ws_url: string;
  api_key: string;
  api_secret: string;
  passphrase?: string;
  account?: string;
  timeout_ms?: number;
  recv_window_ms?: number;
  rate_limit_multiplier?: number;
}

export const VENUE_FACTORIES: Record<VenueName, (c: AdapterConfig) => VenueAdapter> = {
  BINANCE: (c) =>
    createBinanceAdapter({
      env: c.env,
      rest_url: c.rest_url,
      ws_url: c.ws_url,
      api_key: c.api_key,
      api_secret: c.api_secret,
      account: c.account,
      timeout_ms: c.timeout_ms,
      recv_window_ms: c.recv_window_ms,
    }),
  OKX: (c) =>
    createOkxAdapter({
      env: c.env,
      rest_url: c.rest_url,
      ws_url: c.ws_url,
      api_key: c.api_key,
      api_secret: c.api_secret,
      passphrase: c.passphrase,
      account: c.account,
      timeout_ms: c.timeout_ms,
      rate_limit_multiplier: c.rate_limit_multiplier,
    }),
  KUCOIN: (c) => {
    if (c.passphrase === undefined) throw new Error('KUCOIN needs a passphrase: name its variable in the venues file (credentials.passphrase)');
    return createKucoinAdapter({
      env: c.env,
      rest_url: c.rest_url,
      ws_url: c.ws_url,
      api_key: c.api_key,
      api_secret: c.api_secret,
      passphrase: c.passphrase,
      account: c.account,
      timeout_ms: c.timeout_ms,
    });
  },
};

/** What `fillstream emulate` and the tests start a venue emulator with. */
export interface EmulatorOptions {
  port?: number;
  host?: string;
  apiKey: string;
  apiSecret: string;
  passphrase?: string;
  market: MarketData;
  faults?: Partial<FaultSwitches>;
  /** Announce and apply the venue's rate limits times this (an account tier above the base one). */
  limitsMultiplier?: number;
}

export interface RunningEmulator {
  url: string;
  wsUrl: string;
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  /** Every HTTP request the emulator received, answered or refused (a 503, a 429 included). */
  requests: { method: string; path: string; at_ms: number; status?: number }[];
  close(): Promise<void>;
}

export const EMULATORS: Record<VenueName, (o: EmulatorOptions) => Promise<RunningEmulator>> = {
  BINANCE: (o) => startBinanceEmulator(o),
  OKX: (o) => startOkxEmulator({ ...o, demo: true }),
  KUCOIN: (o) => startKucoinEmulator(o),
};
