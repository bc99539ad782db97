// A live venue for the gateway tests: the venue's emulator in this process (its real protocol on
// loopback) and a venues file naming it, with the keys in environment variables the CLI inherits.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMULATORS, type RunningEmulator, type VenueName } from '../../src/assembly/venue-factories.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { ALL_TOPICS, type Event } from '../../src/domain/events.js';
import type { FaultSwitches } from '../../src/venues/emulator/admin.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { fromRecord } from '../../src/runtime/codec.js';

export const LIVE_VENUES: { venue: VenueName; symbol: string }[] = [
  { venue: 'BINANCE', symbol: 'BTCUSDT' },
  { venue: 'OKX', symbol: 'BTC-USDT' },
  { venue: 'KUCOIN', symbol: 'BTC-USDT' },
];

export const KEYS = { api_key: 'test-key-0001', api_secret: 'test-secret-0001', passphrase: 'test-pass-0001' };

export interface LiveVenueFixture {
  em: RunningEmulator;
  venuesFile: string;
  /** The environment the CLI needs: the keys under the names the venues file gives. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function liveVenue(
  venue: VenueName,
  dir: string,
  o: {
    faults?: Partial<FaultSwitches>;
    secret?: string;
    settleMs?: number;
    timeoutMs?: number;
    env?: 'staging' | 'prod';
    withdrawals?: boolean;
    /** The account's starting balances (default: the emulator's generous ones). */
    balances?: Record<string, string>;
  } = {},
): Promise<LiveVenueFixture> {
  const env = o.env ?? 'staging';
  const em = await EMULATORS[venue]({
    port: 0,
    apiKey: KEYS.api_key,
    apiSecret: KEYS.api_secret,
    passphrase: KEYS.passphrase,
    market: createSyntheticMarket({ seed: 1 }),
    faults: o.faults,
    ...(o.balances ? { balances: o.balances } : {}),
    withdrawals: o.withdrawals ?? false,
    live: env === 'prod',
  });
  const prefix = `FS_TEST_${venue}`;
  const file = {
    venues: [
      {
        venue,
        env,
        account: 'acct',
        rest_url: em.url,
        ws_url: em.wsUrl,
        credentials: { api_key: `${prefix}_KEY`, api_secret: `${prefix}_SECRET`, ...(venue === 'BINANCE' ? {} : { passphrase: `${prefix}_PASSPHRASE` }) },
        timeout_ms: o.timeoutMs ?? 1_500,
      },
    ],
    settle_ms: o.settleMs ?? 500,
  };
  const venuesFile = join(dir, 'venues.json');
  writeFileSync(venuesFile, JSON.stringify(file, null, 2));
  const keys = { ...process.env, [`${prefix}_KEY`]: KEYS.api_key, [`${prefix}_SECRET`]: o.secret ?? KEYS.api_secret, [`${prefix}_PASSPHRASE`]: KEYS.passphrase };
  return { em, venuesFile, env: keys, close: () => em.close() };
}

/** Every event of a data dir's log (read-only: `run` may hold it). */
export async function eventsOf(dataDir: string): Promise<Event[]> {
  const log = await openLogReadOnly(dataDir);
  const out: Event[] = [];
  try {
    await log.scan(
      ALL_TOPICS.filter((t) => t !== 'exec.intents'),
      (r) => out.push(fromRecord(r)),
    );
  } finally {
    await log.close();
  }
  return out;
}

/** Polls `check` (every 50 ms) until it returns something, or fails naming `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    // Not there yet (the log not created, a file mid-write) is "not yet".
    const v = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An intent for a live venue, timed now (venues fill against their book now). */
export function liveIntent(
  id: string,
  venue: VenueName,
  symbol: string,
  o: { side?: 'BUY' | 'SELL'; qty?: string; limit?: string; tif?: string; env?: string; account?: string; expireAt?: string } = {},
) {
  return {
    intent_id: id,
    ts: new Date().toISOString(),
    account: o.account ?? 'acct',
    instrument_id: `${venue}:${symbol}`,
    side: o.side ?? 'BUY',
    size: { type: 'quantity', value: o.qty ?? '0.002' },
    constraints: {
      ...(o.limit ? { order_type: 'LIMIT', limit_price: o.limit, tif: o.tif ?? 'GTC' } : { order_type: 'MARKET', tif: o.tif ?? 'IOC' }),
      ...(o.expireAt ? { expire_at: o.expireAt } : {}),
    },
    env: o.env ?? 'staging',
  };
}
