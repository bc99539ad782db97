// What a Binance spot gateway needs to connect. The key and secret stay out of every string this
// module makes: JSON.stringify, util.inspect and error messages see them redacted.
import { readFileSync } from 'node:fs';
import type { VenueConnection } from '../types.js';

/** rest_url e.g. https://api.binance.com; ws_url the WebSocket API, e.g. wss://ws-api.binance.com:443/ws-api/v3. */
export interface BinanceConfig extends VenueConnection {
  /** How long a signed request stays valid at the venue (default 5,000, at most 60,000). */
  recv_window_ms?: number;
}

const REDACTED = '[redacted]';

/** The config with its key and secret replaced: safe to log or serve on /config. */
export function redactBinanceConfig(c: BinanceConfig): Record<string, unknown> {
  const { api_key: _k, api_secret: _s, ...rest } = c;
  return { ...rest, api_key: REDACTED, api_secret: REDACTED };
}

/**
 * A config whose secrets do not leak: the key and secret are not enumerable (util.inspect and
 * object spreads skip them) and toJSON writes them redacted.
 */
export function binanceConfig(c: BinanceConfig): BinanceConfig {
  const out = { ...c } as BinanceConfig & { toJSON(): Record<string, unknown> };
  Object.defineProperty(out, 'api_key', { value: c.api_key, enumerable: false });
  Object.defineProperty(out, 'api_secret', { value: c.api_secret, enumerable: false });
  Object.defineProperty(out, 'toJSON', { value: () => redactBinanceConfig(c), enumerable: false });
  return out;
}

export interface CredentialNames {
  api_key: string;
  api_secret: string;
  passphrase?: string;
}

export interface Credentials {
  api_key: string;
  api_secret: string;
  passphrase?: string;
}

/** One secret from VAR, or from the file VAR_FILE names (Docker/Kubernetes secrets); the error names the variable, never a value. */
function readSecret(name: string, env: NodeJS.ProcessEnv): string {
  const direct = env[name];
  if (direct !== undefined && direct.trim() !== '') return direct.trim();
  const file = env[`${name}_FILE`];
  if (file !== undefined && file.trim() !== '') {
    let text: string;
    try {
      text = readFileSync(file.trim(), 'utf8');
    } catch (e) {
      throw new Error(`credential ${name}: cannot read the file named by ${name}_FILE (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
    }
    if (text.trim() === '') throw new Error(`credential ${name}: the file named by ${name}_FILE is empty`);
    return text.trim();
  }
  throw new Error(`credential ${name} is missing: set the environment variable ${name} or ${name}_FILE`);
}

/** Keys from named environment variables (or <VAR>_FILE); throws naming the first missing variable. */
export function credentialsFromEnv(names: CredentialNames, env: NodeJS.ProcessEnv = process.env): Credentials {
  const out: Credentials = { api_key: readSecret(names.api_key, env), api_secret: readSecret(names.api_secret, env) };
  if (names.passphrase !== undefined) out.passphrase = readSecret(names.passphrase, env);
  Object.defineProperty(out, 'api_secret', { value: out.api_secret, enumerable: false });
  Object.defineProperty(out, 'toJSON', { value: () => ({ api_key: REDACTED, api_secret: REDACTED }), enumerable: false });
  return out;
}
