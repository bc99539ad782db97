// `fillstream emulate <venue>`: a venue's emulator, for paper trading on its real protocol and for
// CI; `fillstream venues <resume|halt|clear-quarantine>`: an operator's acts on a live venue,
// recorded as events on exec.gateway (the gateway takes them from there).
import { type Command, Option } from 'commander';
import { openLogAt } from '../assembly/run.js';
import { EMULATORS, type VenueName } from '../assembly/venue-factories.js';
import { TOPICS } from '../domain/events.js';
import { isDecimalString } from '../domain/decimal.js';
import { parseFaults } from '../venues/emulator/admin.js';
import { KAFKA_TOPICS, openKafkaLog } from '../log/kafka/index.js';
import type { EventLog } from '../log/types.js';
import { loadNdjsonMarket } from '../market/ndjson.js';
import { createSyntheticMarket } from '../market/synthetic.js';
import { busOption, dataDirOption, intArg, kafkaOptions } from './options.js';
import { appendToAll, venueCommand } from '../ops/commands.js';

const VENUES = ['binance', 'okx', 'kucoin'] as const;

/** `--fault latency_ms=20,http_5xx=1`: the emulator's switches at start. */
function faultList(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',').filter(Boolean)) {
    const [k, val] = part.split('=');
    if (!k || val === undefined) throw new Error(`--fault ${v}: use name=value pairs, e.g. latency_ms=20,duplicate_fills=true`);
    out[k.trim()] = val.trim();
  }
  return out;
}

/** `--balances USDT=1000,BTC=1`: the emulated account's free balances at start (decimal strings). */
function balanceList(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',').filter(Boolean)) {
    const [asset, amount] = part.split('=').map((x) => x.trim());
    if (!asset || amount === undefined || !isDecimalString(amount) || amount.startsWith('-')) {
      throw new Error(`--balances ${v}: use ASSET=amount pairs with non-negative decimal amounts, e.g. USDT=1000,BTC=1`);
    }
    out[asset] = amount;
  }
  return out;
}

export function registerVenueCommands(program: Command, stopSignal: () => AbortSignal): void {
  program
    .command('emulate')
    .description(
      "serve a venue emulator (its REST and WebSocket protocol, signatures, errors, rate limits) on a port; fills from the simulator's books; faults on demand at /__emulator/faults",
    )
    .argument('<venue>', VENUES.join(' | '))
    .option('--port <n>', 'port (0: a free one, printed)', intArg('--port'), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--api-key <key>', 'the API key it accepts (default env EMULATOR_API_KEY, else "emulator-key")')
    .option('--api-secret <secret>', 'the secret it verifies signatures with (default env EMULATOR_API_SECRET, else "emulator-secret")')
    .option('--passphrase <text>', 'OKX and KuCoin: the passphrase (default env EMULATOR_PASSPHRASE, else "emulator-passphrase")')
    .option('--books <file>', 'NDJSON order-book snapshots (default: the synthetic market)')
    .option('--seed <n>', 'seed of the synthetic market', intArg('--seed'), 1)
    .option('--limits-multiplier <n>', "announce and apply the venue's rate limits times this (an account tier above the base one)", intArg('--limits-multiplier'), 1)
    .option('--withdrawals', "the key's permissions say it may withdraw (to rehearse the gateway refusing such production keys)")
    .option('--live', 'OKX: act as live trading, which takes prod keys (default: demo trading, staging keys)')
    .option('--fault <list>', 'fault switches at start, e.g. latency_ms=20,http_5xx=2,balance_lag_ms=500 (see /__emulator/faults)', faultList)
    .option(
      '--balances <list>',
      "the account's free balances at start, e.g. USDT=1000,BTC=1: exactly these, every other asset 0 (default: each quote asset 10,000,000, each base 100,000; see /__emulator/balances)",
      balanceList,
    )
    .action(
      async (
        venue: string,
        o: {
          port: number;
          host: string;
          apiKey?: string;
          apiSecret?: string;
          passphrase?: string;
          books?: string;
          seed: number;
          fault?: Record<string, string>;
          balances?: Record<string, string>;
          limitsMultiplier: number;
          withdrawals?: boolean;
          live?: boolean;
        },
      ) => {
        if (!(VENUES as readonly string[]).includes(venue)) throw new Error(`unknown venue ${venue}: use ${VENUES.join(', ')}`);
        const market = o.books ? await loadNdjsonMarket(o.books) : createSyntheticMarket({ seed: o.seed });
        const faults = o.fault ? parseFaults(o.fault) : undefined;
        const signal = stopSignal();
        const em = await EMULATORS[venue.toUpperCase() as VenueName]({
          port: o.port,
          host: o.host,
          apiKey: o.apiKey ?? process.env.EMULATOR_API_KEY ?? 'emulator-key',
          apiSecret: o.apiSecret ?? process.env.EMULATOR_API_SECRET ?? 'emulator-secret',
          passphrase: o.passphrase ?? process.env.EMULATOR_PASSPHRASE ?? 'emulator-passphrase',
          market,
          limitsMultiplier: o.limitsMultiplier,
          withdrawals: o.withdrawals ?? false,
          live: o.live ?? false,
          ...(faults ? { faults } : {}),
          ...(o.balances ? { balances: o.balances } : {}),
        });
        // One JSON line on stdout, so a script can read where it listens.
        console.log(JSON.stringify({ venue, url: em.url, ws_url: em.wsUrl, admin: `${em.url}/__emulator/` }));
        console.error(`fillstream: ${venue} emulator on ${em.url} (WebSocket ${em.wsUrl}); SIGTERM stops it`);
        await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
        await em.close();
      },
    );

  const venues = program.command('venues').description("an operator's acts on a live venue, recorded on exec.gateway: resume after a halt, halt, clear a quarantine");
  const act = (name: 'resume' | 'halt' | 'clear-quarantine', description: string) =>
    venues
      .command(name)
      .description(description)
      .requiredOption('--venue <venue>', 'BINANCE | OKX | KUCOIN')
      .addOption(new Option('--env <env>', 'the environment of the venue keys').choices(['staging', 'prod']).makeOptionMandatory())
      .requiredOption('--reason <text>', 'why (recorded)')
      .option('--operator <name>', 'who (recorded; default $USER)', process.env.USER ?? 'operator')
      .option('--account <account>', 'clear-quarantine: the account', 'default')
      .addOption(dataDirOption())
      .addOption(busOption())
      .action(async (o: { venue: string; env: 'staging' | 'prod'; reason: string; operator: string; account: string; dataDir: string; bus: string }) => {
        const e = venueCommand(name, o);
        const log: EventLog = o.bus === 'kafka' ? await openKafkaLog(kafkaOptions('fillstream-operator'), KAFKA_TOPICS) : await openLogAt(o.dataDir);
        try {
          await appendToAll(log, TOPICS.gateway, [e]);
        } finally {
          await log.close();
        }
        console.log(`${e.type} ${o.venue.toUpperCase()} (${o.env}) by ${o.operator}: ${o.reason}`);
      });
  act('resume', 'let the gateway send to a venue again after a halt (a 418 from the venue, or an operator)');
  act('halt', 'stop sending new orders to a venue (cancels still go)');
  act('clear-quarantine', 'let an account trade on a venue again after reviewing the orders reconciliation found there');
}
