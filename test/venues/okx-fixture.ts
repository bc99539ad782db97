// Shared by the OKX venue tests: an emulator on a loopback port, an adapter pointed at it, orders,
// and a market whose books stand still (prices computed by a test are still there when it places).
import { clientOrderId } from '../../src/domain/ids.js';
import type { Order, VenueReport } from '../../src/domain/events.js';
import { dec, floorTo, fmt, type Dec } from '../../src/domain/decimal.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import type { Book, MarketData } from '../../src/market/types.js';
import type { FaultSwitches } from '../../src/venues/emulator/admin.js';
import { createOkxAdapter, startOkxEmulator, type OkxConfig, type OkxEmulator } from '../../src/venues/okx/index.js';
import type { VenueAdapter, VenueMessage } from '../../src/venues/types.js';

export const KEY = 'a1b2c3d4-okx-demo-key';
export const SECRET = 'SECRET0123456789ABCDEF0123456789';
export const PASSPHRASE = 'Pass-phrase-1';
export const SYMBOL = 'BTC-USDT';
const BOOK_AT_US = Date.UTC(2026, 0, 2, 10) * 1000;

/** The synthetic market frozen at one instant. */
export function stillMarket(): MarketData {
  const m = createSyntheticMarket({ seed: 7 });
  return { instruments: () => m.instruments(), instrument: (id) => m.instrument(id), bookAt: (id) => m.bookAt(id, BOOK_AT_US) };
}

export function bookOf(market: MarketData): Book {
  return market.bookAt(`OKX:${SYMBOL}`, 0)!;
}

export const tick = (x: Dec): string => fmt(floorTo(x, dec('0.1')));

let seq = 0;
export function order(p: Partial<Order> = {}): Order {
  seq++;
  return {
    client_order_id: clientOrderId(`okx-test/${process.pid}/${Date.now()}/${seq}`),
    intent_id: `intent-${seq}`,
    leg: 0,
    attempt: 0,
    account: 'default',
    strategy: 'test',
    env: 'staging',
    instrument_id: `OKX:${SYMBOL}`,
    venue: 'OKX',
    symbol: SYMBOL,
    side: 'BUY',
    order_type: 'LIMIT',
    qty: '0.01',
    tif: 'GTC',
    ref_price: '65000',
    ...p,
  };
}

export const ref = (o: Order, venue_order_id?: string) => ({
  client_order_id: o.client_order_id,
  instrument_id: o.instrument_id,
  symbol: o.symbol,
  ...(venue_order_id ? { venue_order_id } : {}),
});

export interface Rig {
  emu: OkxEmulator;
  adapter: VenueAdapter;
  market: MarketData;
  /** What the user-data stream delivered, in arrival order. */
  pushed: VenueMessage[];
  statuses: boolean[];
  admin(path: string, body: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export async function rig(
  o: { faults?: Partial<FaultSwitches>; demo?: boolean; perm?: string; config?: Partial<OkxConfig>; hangMs?: number; balances?: Record<string, string> } = {},
): Promise<Rig> {
  const market = stillMarket();
  const emu = await startOkxEmulator({
    apiKey: KEY,
    apiSecret: SECRET,
    passphrase: PASSPHRASE,
    market,
    demo: o.demo ?? true,
    perm: o.perm,
    faults: o.faults,
    hangMs: o.hangMs,
    balances: o.balances,
  });
  const adapter = createOkxAdapter({
    env: 'staging',
    rest_url: emu.url,
    ws_url: emu.wsUrl,
    api_key: KEY,
    api_secret: SECRET,
    passphrase: PASSPHRASE,
    timeout_ms: 2_000,
    ...o.config,
  });
  const pushed: VenueMessage[] = [];
  const statuses: boolean[] = [];
  return {
    emu,
    adapter,
    market,
    pushed,
    statuses,
    async admin(path, body) {
      const res = await fetch(`${emu.url}/__emulator/${path}`, { method: 'POST', body: JSON.stringify(body) });
      const json: unknown = await res.json();
      if (!res.ok) throw new Error(`admin ${path}: ${JSON.stringify(json)}`);
      return json;
    },
    async close() {
      await adapter.close();
      await emu.close();
    },
  };
}

export function listen(r: Rig): void {
  r.adapter.subscribe(
    (m) => r.pushed.push(...m),
    (up) => r.statuses.push(up),
  );
}

/** Waits (polling) until `cond` holds; throws with `what` after 10 s. Not a speed assertion: a bound on a hang. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const trades = (reports: VenueReport[]) => reports.filter((r): r is Extract<VenueReport, { kind: 'TRADE' }> => r.kind === 'TRADE');
export const pushedFor = (r: Rig, coid: string) => r.pushed.filter((m) => m.client_order_id === coid).map((m) => m.report);
