// What an OKX adapter needs to connect: where, as which environment, with which keys. The secret
// and passphrase live in a closure: they never reach JSON, logs or error messages.
import { readFileSync } from 'node:fs';
import type { VenueConnection } from '../types.js';

/**
 * env staging = OKX demo trading (demo keys, x-simulated-trading: 1), prod = live trading; rest_url
 * e.g. https://www.okx.com; ws_url the private stream, e.g. wss://ws.okx.com:8443/ws/v5/private
 * (demo: wss://wspap.okx.com:8443/ws/v5/private).
 */
export interface OkxConfig extends VenueConnection {
  passphrase?: string;
  /** The account's limits are OKX's published base limits times this (VIP tiers get more; OKX does not announce them). Default 1. */
  rate_limit_multiplier?: number;
}

/** The keys, readable only through `reveal` (used by signing); everything else prints redacted. */
export interface OkxCredentials {
  readonly api_key: string;
  reveal(): { secret: string; passphrase: string };
  toJSON(): Record<string, string>;
}

export const REDACTED = '[redacted]';

/** Keeps the secret and passphrase out of reach of JSON.stringify, util.inspect and spreads. */
export function sealCredentials(apiKey: string, secret: string, passphrase: string): OkxCredentials {
  const creds: OkxCredentials = {
    api_key: apiKey,
    reveal: () => ({ secret, passphrase }),
    toJSON: () => ({ api_key: apiKey, api_secret: REDACTED, passphrase: REDACTED }),
  };
  Object.defineProperty(creds, Symbol.for('nodejs.util.inspect.custom'), { value: () => creds.toJSON(), enumerable: false });
  return Object.freeze(creds);
}

/** The config as it may be shown (logs, /config): secret and passphrase replaced. */
export function redactedConfig(c: OkxConfig): Record<string, unknown> {
  return { ...c, api_secret: REDACTED, ...(c.passphrase !== undefined ? { passphrase: REDACTED } : {}) };
}

/**
 * A config whose secret and passphrase are hidden from JSON.stringify and util.inspect (both show
 * the redacted form); the fields stay readable by code that names them.
 */
export function okxConfig(c: OkxConfig): OkxConfig {
  const out = { ...c };
  Object.defineProperty(out, 'toJSON', { value: () => redactedConfig(c), enumerable: false });
  Object.defineProperty(out, Symbol.for('nodejs.util.inspect.custom'), { value: () => redactedConfig(c), enumerable: false });
  return out;
}

/** Reads one variable, or the file named by `<VAR>_FILE` (Docker/Kubernetes secrets). */
function readVar(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    // The path is not secret; the content is never read into the message.
    throw new Error(`cannot read ${name}_FILE (${file}): ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: e });
  }
}

/** OKX keys from named environment variables (or `<VAR>_FILE`); throws naming what is missing, never a value. */
export function credentialsFromEnv(
  names: { api_key: string; api_secret: string; passphrase?: string },
  env: NodeJS.ProcessEnv = process.env,
): { api_key: string; api_secret: string; passphrase: string } {
  const missing: string[] = [];
  const get = (name: string) => {
    const v = readVar(name, env);
    if (v === undefined) missing.push(`${name} (or ${name}_FILE)`);
    return v ?? '';
  };
  const api_key = get(names.api_key);
  const api_secret = get(names.api_secret);
  // OKX keys always come with a passphrase: without one every private request is refused (50104).
  const passphrase = get(names.passphrase ?? 'OKX_PASSPHRASE');
  if (missing.length) throw new Error(`OKX credentials: missing environment variable ${missing.join(', ')}`);
  return { api_key, api_secret, passphrase };
}
