// The live venue gateways this build carries, by venue name: each turns a venue's config (URLs,
// keys already read) into an adapter behind the venue seam.
import type { MarketData } from '../market/types.js';
import type { FaultSwitches } from '../venues/emulator/admin.js';
import type { EmulatedExchange } from '../venues/emulator/exchange.js';
import type { VenueAdapter } from '../venues/types.js';

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
}

const missing = (venue: string) => (): VenueAdapter => {
  throw new Error(`this build has no ${venue} gateway`);
};

export const VENUE_FACTORIES: Record<VenueName, (c: AdapterConfig) => VenueAdapter> = {
  BINANCE: missing('BINANCE'),
  OKX: missing('OKX'),
  KUCOIN: missing('KUCOIN'),
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
}

export interface RunningEmulator {
  url: string;
  wsUrl: string;
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  close(): Promise<void>;
}

const noEmulator = (venue: string) => (): Promise<RunningEmulator> => Promise.reject(new Error(`this build has no ${venue} emulator`));

export const EMULATORS: Record<VenueName, (o: EmulatorOptions) => Promise<RunningEmulator>> = {
  BINANCE: noEmulator('BINANCE'),
  OKX: noEmulator('OKX'),
  KUCOIN: noEmulator('KUCOIN'),
};
