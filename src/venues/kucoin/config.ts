// What the KuCoin adapter needs to reach one account: where the venue is and the API key's three
// parts. The secret and passphrase never leave this object in text: JSON and inspect redact them.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import type { VenueConnection } from '../types.js';

/** rest_url e.g. https://api.kucoin.com; ws_url overrides the private stream (empty: the endpoint POST /api/v1/bullet-private hands out). */
export interface KucoinConfig extends VenueConnection {
  passphrase: string;
}

const REDACTED = '<redacted>';

/** The config without its secrets, for logs and /config. */
export function redactKucoinConfig(c: KucoinConfig): Record<string, unknown> {
  return { ...c, api_secret: REDACTED, passphrase: REDACTED };
}

/** A config whose JSON and util.inspect forms carry no secret (the fields stay readable in code). */
export function kucoinConfig(c: KucoinConfig): KucoinConfig {
  const out = { ...c };
  Object.defineProperty(out, 'toJSON', { value: () => redactKucoinConfig(c), enumerable: false });
  Object.defineProperty(out, inspect.custom, { value: () => redactKucoinConfig(c), enumerable: false });
  return out;
}

export interface CredentialNames {
  api_key: string;
  api_secret: string;
  passphrase?: string;
}

export interface KucoinCredentials {
  api_key: string;
  api_secret: string;
  passphrase: string;
}

/**
 * Reads the key, secret and passphrase from the named environment variables, or from the file a
 * `<NAME>_FILE` variable points at (trailing newline dropped). A missing one is named, its value never.
 */
export function credentialsFromEnv(names: CredentialNames, env: NodeJS.ProcessEnv = process.env): KucoinCredentials {
  const read = (name: string): string => {
    const direct = env[name];
    if (direct !== undefined && direct !== '') return direct;
    const file = env[`${name}_FILE`];
    if (file !== undefined && file !== '') {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new Error(`KuCoin credential ${name}: cannot read ${name}_FILE (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
      }
      const v = text.replace(/\r?\n$/, '');
      if (v !== '') return v;
      throw new Error(`KuCoin credential ${name}: the file named by ${name}_FILE is empty`);
    }
    throw new Error(`KuCoin credential missing: set ${name} or ${name}_FILE`);
  };
  if (!names.passphrase) throw new Error('KuCoin needs a passphrase variable name: every KuCoin API key has one');
  const creds = { api_key: read(names.api_key), api_secret: read(names.api_secret), passphrase: read(names.passphrase) };
  const shown = () => ({ api_key: creds.api_key, api_secret: REDACTED, passphrase: REDACTED });
  Object.defineProperty(creds, 'toJSON', { value: shown, enumerable: false });
  Object.defineProperty(creds, inspect.custom, { value: shown, enumerable: false });
  return creds;
}
