// Shared set-up for the Binance adapter <-> emulator tests: a fixed book (deterministic fills),
// an emulator on a free loopback port, an adapter pointed at it, and the admin calls.
import type { Order } from '../../src/domain/events.js';
import { clientOrderId } from '../../src/domain/ids.js';
import { parseNdjsonMarket } from '../../src/market/ndjson.js';
import type { FaultSwitches } from '../../src/venues/emulator/admin.js';
import { createBinanceAdapter, startBinanceEmulator, type BinanceEmulator } from '../../src/venues/binance/index.js';
import type { VenueAdapter, VenueMessage } from '../../src/venues/types.js';

export const API_KEY = 'emulatorKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR';
export const API_SECRET = 'emulatorSecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN';

// One snapshot at 2020-01-01: the book every order meets, whenever it is placed.
export const BOOK = {
  ts: '2020-01-01T00:00:00Z',
  instrument_id: 'BINANCE:BTCUSDT',
  bids: [
    ['50000.00', '0.5'],
    ['49999.00', '1'],
  ],
  asks: [
    ['50001.00', '0.3'],
    ['50002.00', '0.4'],
    ['50010.00', '2'],
  ],
};
export const fixedMarket = () => parseNdjsonMarket(JSON.stringify(BOOK) + '\n');

export interface Rig {
  emu: BinanceEmulator;
  adapter: VenueAdapter;
  pushed: VenueMessage[];
  status: boolean[];
  close(): Promise<void>;
}

export async function rig(
  o: { faults?: Partial<FaultSwitches>; secret?: string; key?: string; timeoutMs?: number; recvWindowMs?: number; balances?: Record<string, string> } = {},
): Promise<Rig> {
  const emu = await startBinanceEmulator({ apiKey: API_KEY, apiSecret: API_SECRET, market: fixedMarket(), faults: o.faults, balances: o.balances });
  const adapter = createBinanceAdapter({
    env: 'staging',
    rest_url: emu.url,
    ws_url: emu.wsUrl,
    api_key: o.key ?? API_KEY,
    api_secret: o.secret ?? API_SECRET,
    timeout_ms: o.timeoutMs ?? 3_000,
    recv_window_ms: o.recvWindowMs,
  });
  const r: Rig = {
    emu,
    adapter,
    pushed: [],
    status: [],
    async close() {
      await adapter.close();
      await emu.close();
    },
  };
  return r;
}

export function subscribe(r: Rig): void {
  r.adapter.subscribe(
    (m) => r.pushed.push(...m),
    (up) => r.status.push(up),
  );
}

let seq = 0;
export function order(o: Partial<Order> & Pick<Order, 'side' | 'order_type' | 'qty'>): Order {
  const intent = `intent-${process.pid}-${Date.now()}-${++seq}`;
  return {
    client_order_id: clientOrderId(intent),
    intent_id: intent,
    leg: 0,
    attempt: 0,
    account: 'default',
    strategy: 'test',
    env: 'staging',
    instrument_id: 'BINANCE:BTCUSDT',
    venue: 'BINANCE',
    symbol: 'BTCUSDT',
    tif: 'GTC',
    ref_price: '50000.5',
    ...o,
  };
}

export const TS = '2026-01-02T10:00:00.000000Z';

/** Wait (polling) until `f` holds; throws naming what never came. */
export async function until(what: string, f: () => boolean, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

export async function admin(emu: BinanceEmulator, what: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${emu.url}/__emulator/${what}`, { method: 'POST', body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`admin ${what}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export const reportsOf = (pushed: VenueMessage[], coid: string) => pushed.filter((m) => m.client_order_id === coid).map((m) => m.report);
