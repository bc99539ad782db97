// Options and settings the fillstream commands share: the data dir, the bus, Kafka and Redis from
// the environment, and the log a read-only command folds.
import { InvalidArgumentError, Option } from 'commander';
import { marketOf, openLogAt, openLogReadOnly } from '../assembly/run.js';
import { createSyntheticMarket } from '../market/synthetic.js';
import { loadNdjsonMarket } from '../market/ndjson.js';
import type { MarketData } from '../market/types.js';
import { KAFKA_TOPICS, kafkaClientOf, openKafkaLog, type KafkaLogOptions } from '../log/kafka/index.js';
import type { EventLog } from '../log/types.js';
import { DEFAULT_REDIS_PREFIX } from '../projections/redis/keys.js';
import { isDecimalString } from '../domain/decimal.js';
import { DEFAULT_ROUTER_SETTINGS, type RouterSettings } from '../router/decide.js';
import { DEFAULT_CHAIN_SETTINGS, type ChainSettings } from '../chains/decide.js';
import { readFileSync } from 'node:fs';
import { RouteWindowsFile } from '../domain/route-windows.js';
import { compileWindows } from '../router/windows.js';
import { issuesText } from '../domain/faults.js';

export const DEFAULT_DATA_DIR = process.env.FILLSTREAM_DATA_DIR ?? './fillstream-data';

export const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
export const dataDirOption = () => new Option('--data-dir <dir>', 'data dir holding the log and the simulated venue').default(DEFAULT_DATA_DIR);
export const busOption = () =>
  new Option('--bus <bus>', 'event log: embedded (files in the data dir) or kafka (the cluster in KAFKA_BROKERS)')
    .choices(['embedded', 'kafka'])
    .default(process.env.FILLSTREAM_BUS ?? 'embedded');

/**
 * Kafka settings from the environment: KAFKA_BROKERS (required), FILLSTREAM_TOPIC_PREFIX, SCHEMA_REGISTRY_URL,
 * FILLSTREAM_KAFKA_FETCH_WAIT_MS, FILLSTREAM_KAFKA_CLIENT (kafkajs, the default, or platformatic: @platformatic/kafka).
 */
export function kafkaOptions(clientId: string): KafkaLogOptions {
  const brokers = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: give the Kafka bootstrap servers, e.g. KAFKA_BROKERS=localhost:9092');
  const wait = process.env.FILLSTREAM_KAFKA_FETCH_WAIT_MS;
  const fetchWaitMs = wait === undefined || wait === '' ? undefined : Number(wait);
  if (fetchWaitMs !== undefined && !(Number.isInteger(fetchWaitMs) && fetchWaitMs >= 0))
    throw new Error(`FILLSTREAM_KAFKA_FETCH_WAIT_MS must be a whole number of ms, got ${wait}`);
  return {
    brokers,
    clientId,
    topicPrefix: process.env.FILLSTREAM_TOPIC_PREFIX ?? '',
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL || undefined,
    fetchWaitMs,
    client: kafkaClientOf({}),
  };
}

/** The Redis projection from the environment: REDIS_URL (the projector runs when set), FILLSTREAM_REDIS_PREFIX. */
export function redisOptions(): { url: string; prefix: string } | undefined {
  const url = process.env.REDIS_URL;
  return url ? { url, prefix: process.env.FILLSTREAM_REDIS_PREFIX || DEFAULT_REDIS_PREFIX } : undefined;
}

/** The log a read-only command folds: the data dir's embedded log, or the Kafka topics. */
export function openReadLog(o: { dataDir: string; bus: string }): Promise<EventLog> {
  return o.bus === 'kafka' ? openKafkaLog(kafkaOptions('fillstream-reader'), KAFKA_TOPICS) : openLogReadOnly(o.dataDir);
}

/**
 * The smart router's settings from the environment: FILLSTREAM_ROUTE_LATENCY_BPS_PER_MS (bps of
 * notional per ms of a venue's placement round trip, default 0.01) and FILLSTREAM_ROUTE_SPLIT
 * (on, the default, or off: the whole order always goes to one venue) and FILLSTREAM_ROUTE_WINDOWS
 * (a JSON file of the venues' trading hours and closures; none: every venue around the clock).
 */
export function routingFromEnv(env: NodeJS.ProcessEnv = process.env): RouterSettings {
  const perMs = env.FILLSTREAM_ROUTE_LATENCY_BPS_PER_MS?.trim() || DEFAULT_ROUTER_SETTINGS.latency_bps_per_ms;
  if (!isDecimalString(perMs) || perMs.startsWith('-')) throw new Error(`FILLSTREAM_ROUTE_LATENCY_BPS_PER_MS must be a decimal of 0 or more bps per ms, got ${perMs}`);
  const split = (env.FILLSTREAM_ROUTE_SPLIT ?? 'on').trim().toLowerCase();
  if (split !== 'on' && split !== 'off') throw new Error(`FILLSTREAM_ROUTE_SPLIT must be on or off, got ${split}`);
  const file = env.FILLSTREAM_ROUTE_WINDOWS?.trim();
  return { latency_bps_per_ms: perMs, split: split === 'on', ...(file ? { windows: compileWindows(readRouteWindows(file)) } : {}) };
}

/** The trading windows file (schemas/route-windows.schema.json), checked: a bad one stops the process, named. */
export function readRouteWindows(file: string): RouteWindowsFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`FILLSTREAM_ROUTE_WINDOWS (${file}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const r = RouteWindowsFile.safeParse(json);
  if (!r.success) throw new Error(`FILLSTREAM_ROUTE_WINDOWS (${file}): ${issuesText(r.error.issues)}`);
  return r.data;
}

/**
 * Chain settings from the environment: FILLSTREAM_CHAIN_SLOTS (chains in flight at once, default 4;
 * operators change it at run time with `fillstream chains slots N`) and FILLSTREAM_CHAIN_FILL_TIMEOUT_MS
 * (a live leg's order expires on its venue this long after it is sent, default 10000) and
 * FILLSTREAM_CHAIN_BALANCE_WAIT_MS (on live venues, how long a leg waits for the venue's balance to
 * show the previous leg's output, default 2000; 0 places it at once).
 */
export function chainsFromEnv(env: NodeJS.ProcessEnv = process.env): ChainSettings {
  const whole = (name: string, fallback: number): number => {
    const v = env[name]?.trim();
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of 0 or more, got ${v}`);
    return n;
  };
  return {
    slots: whole('FILLSTREAM_CHAIN_SLOTS', DEFAULT_CHAIN_SETTINGS.slots),
    paused: false,
    fill_timeout_ms: whole('FILLSTREAM_CHAIN_FILL_TIMEOUT_MS', DEFAULT_CHAIN_SETTINGS.fill_timeout_ms),
    balance_wait_ms: whole('FILLSTREAM_CHAIN_BALANCE_WAIT_MS', DEFAULT_CHAIN_SETTINGS.balance_wait_ms),
  };
}

/** FILLSTREAM_SIM_LATENCY_MS: the simulator answers each batch of orders this long after taking it (default 0: at once). */
export function simLatencyFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.FILLSTREAM_SIM_LATENCY_MS?.trim();
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) throw new Error(`FILLSTREAM_SIM_LATENCY_MS must be a whole number of ms from 0 to 60000, got ${v}`);
  return n;
}

/** The market a read command folds with: the data dir's (embedded), else --books or the synthetic seed (Kafka). */
export async function marketFor(o: { dataDir: string; bus: string; books?: string; seed: number }): Promise<MarketData> {
  if (o.bus !== 'kafka') return marketOf(o.dataDir, o.books);
  return o.books ? loadNdjsonMarket(o.books) : createSyntheticMarket({ seed: o.seed });
}

/** The log to write an operator's record to; on the embedded log the data dir's `run` must be stopped (one writer). */
export async function openForWrite(o: { dataDir: string; bus: string }): Promise<EventLog> {
  if (o.bus === 'kafka') return openKafkaLog(kafkaOptions('fillstream-operator'), KAFKA_TOPICS);
  try {
    return await openLogAt(o.dataDir);
  } catch (e) {
    throw new Error(`cannot write to ${o.dataDir}: ${(e as Error).message} (on the embedded log, stop its \`run\` first: one writer per data dir)`, { cause: e });
  }
}
