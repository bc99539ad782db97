// The live venue gateways this build carries, by venue name: each turns a venue's config (URLs,
// keys already read) into an adapter behind the venue seam.
import type { EmulatorBaseOptions, FaultSwitches } from '../venues/emulator/admin.js';
import type { EmulatedExchange } from '../venues/emulator/exchange.js';
import type { VenueAdapter, VenueConnection } from '../venues/types.js';
import { createBinanceAdapter, startBinanceEmulator } from '../venues/binance/index.js';
import { createOkxAdapter, startOkxEmulator } from '../venues/okx/index.js';
import { createKucoinAdapter, startKucoinEmulator } from '../venues/kucoin/index.js';

export type VenueName = 'BINANCE' | 'OKX' | 'KUCOIN';

/** What every venue factory takes; each venue reads the fields it uses. */
export interface AdapterConfig extends VenueConnection {
  passphrase?: string;
  recv_window_ms?: number;
  rate_limit_multiplier?: number;
}

export const VENUE_FACTORIES: Record<VenueName, (c: AdapterConfig) => VenueAdapter> = {
  // Binance keys have no passphrase: none is carried where a config print could show it.
  BINANCE: ({ passphrase: _none, ...c }) => createBinanceAdapter(c),
  OKX: (c) => createOkxAdapter(c),
  KUCOIN: (c) => {
    const { passphrase } = c;
    if (passphrase === undefined) throw new Error('KUCOIN needs a passphrase: name its variable in the venues file (credentials.passphrase)');
    return createKucoinAdapter({ ...c, passphrase });
  },
};

/** What `fillstream emulate` and the tests start a venue emulator with. */
export interface EmulatorOptions extends EmulatorBaseOptions {
  /** The key may withdraw (what the venue's permission endpoint says; default no). */
  withdrawals?: boolean;
  /** OKX: act as live trading rather than demo trading (default: demo, which takes `staging` keys). */
  live?: boolean;
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
  BINANCE: (o) => startBinanceEmulator({ ...o, permissions: { can_trade: true, can_withdraw: o.withdrawals ?? false } }),
  OKX: (o) => startOkxEmulator({ ...o, demo: !o.live, perm: o.withdrawals ? 'read_only,trade,withdraw' : 'read_only,trade' }),
  KUCOIN: (o) => startKucoinEmulator({ ...o, permission: o.withdrawals ? 'General,Spot,Withdrawal' : 'General,Spot' }),
};
