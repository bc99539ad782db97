// Shared by the KuCoin venue tests: an emulator on loopback, an adapter pointed at it, orders, and
// a book pinned to one instant (the synthetic market moves every second; tests price off it).
import { setTimeout as sleep } from 'node:timers/promises';
import { dec, floorTo, fmt } from '../../src/domain/decimal.js';
import type { Order } from '../../src/domain/events.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import type { Book, MarketData } from '../../src/market/types.js';
import { createKucoinAdapter, kucoinConfig, startKucoinEmulator, type KucoinConfig, type KucoinEmulator } from '../../src/venues/kucoin/index.js';
import type { VenueAdapter, VenueMessage } from '../../src/venues/types.js';

export const KEY = 'emu-key-6705f5c311545b000157d3eb';
export const SECRET = 'emu-secret-f03a5284-5c39-4aaa-9b20';
export const PASSPHRASE = 'emu-passphrase-Ab123';
export const SYMBOL = 'BTC-USDT';
const PINNED_US = Date.UTC(2026, 0, 2, 10, 0, 0) * 1000;

export function pinnedMarket(): MarketData {
  const m = createSyntheticMarket({ seed: 7 });
  return { instruments: () => m.instruments(), instrument: (id) => m.instrument(id), bookAt: (id) => m.bookAt(id, PINNED_US) };
}

export function book(market: MarketData, symbol = SYMBOL): Book {
  const b = market.bookAt(`KUCOIN:${symbol}`, 0);
  if (!b) throw new Error(`no book for ${symbol}`);
  return b;
}

export interface Rig {
  emu: KucoinEmulator;
  market: MarketData;
  config: KucoinConfig;
  adapter: VenueAdapter;
  /** Everything the adapter's subscription delivered, in order. */
  pushed: VenueMessage[];
  admin(path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export async function rig(
  o: { secret?: string; key?: string; subscribe?: boolean; permission?: string; privateLimit?: number; rateWindowMs?: number; balances?: Record<string, string> } = {},
): Promise<Rig> {
  const market = pinnedMarket();
  const emu = await startKucoinEmulator({
    apiKey: KEY,
    apiSecret: SECRET,
    passphrase: PASSPHRASE,
    market,
    permission: o.permission,
    privateLimit: o.privateLimit,
    rateWindowMs: o.rateWindowMs,
    balances: o.balances,
  });
  const config = kucoinConfig({ env: 'staging', rest_url: emu.url, ws_url: '', api_key: o.key ?? KEY, api_secret: o.secret ?? SECRET, passphrase: PASSPHRASE, timeout_ms: 2_000 });
  const adapter = createKucoinAdapter(config);
  const pushed: VenueMessage[] = [];
  if (o.subscribe) {
    adapter.subscribe((m) => pushed.push(...m));
    await until(() => adapter.health().connected, 'the private stream connects');
  }
  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${emu.url}/__emulator/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    const json: unknown = await res.json();
    if (!res.ok) throw new Error(`admin ${path}: ${JSON.stringify(json)}`);
    return json;
  };
  return {
    emu,
    market,
    config,
    adapter,
    pushed,
    admin,
    async close() {
      await adapter.close();
      await emu.close();
    },
  };
}

/** Wait for a condition the venue brings about on its own time; fails after `ms` naming what never happened. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

let n = 0;
export function order(over: Partial<Order> & Pick<Order, 'side' | 'order_type' | 'qty'>): Order {
  n++;
  const coid = over.client_order_id ?? `fs${process.pid.toString(16)}${Date.now().toString(16)}${n.toString(16).padStart(4, '0')}`.slice(0, 32);
  return {
    client_order_id: coid,
    intent_id: `intent-${coid}`,
    leg: 0,
    attempt: 0,
    account: 'default',
    strategy: 'test',
    env: 'staging',
    instrument_id: `KUCOIN:${SYMBOL}`,
    venue: 'KUCOIN',
    symbol: SYMBOL,
    tif: 'GTC',
    ref_price: '65000',
    ...over,
  };
}

/** A price `ticks` ticks below the best bid: a buy there rests. */
export function restingBuyPrice(market: MarketData, ticks = 100): string {
  const b = book(market);
  return fmt(floorTo(b.bids[0].price.minus(dec('0.1').times(ticks)), dec('0.1')));
}

export const ref = (o: Order) => ({ client_order_id: o.client_order_id, instrument_id: o.instrument_id, symbol: o.symbol });
