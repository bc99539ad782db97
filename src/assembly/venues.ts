// The venues file: which live venues the gateway trades on, in which environment, at which URLs,
// with the keys in which environment variables. Without it every order goes to the simulator.
import { readFileSync } from 'node:fs';
import { LiveSession } from '../gateway/session.js';
import type { LiveVenue } from '../gateway/live.js';
import type { VenueAdapter } from '../venues/types.js';
import { VENUE_FACTORIES } from './venue-factories.js';
import { VenuesFile } from '../domain/venues.js';
import { issuesText } from '../domain/faults.js';

/** The value of an environment variable, or of the file its <NAME>_FILE names; the error names the variable, never a value. */
export function secretFrom(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new Error(`cannot read ${name}_FILE (${file}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }
  throw new Error(`environment variable ${name} (or ${name}_FILE) is not set: the venues file names it as a credential`);
}

export function parseVenuesFile(text: string, source = 'venues file'): VenuesFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const r = VenuesFile.safeParse(json);
  if (!r.success) throw new Error(`${source}: ${issuesText(r.error.issues)}`);
  return r.data;
}

/** Adapters for every venue of the file, with their keys read now (a missing one fails here, named). */
export function liveSessionFrom(file: VenuesFile, env: NodeJS.ProcessEnv = process.env): LiveSession {
  const venues: LiveVenue[] = file.venues.map((c) => {
    const factory = VENUE_FACTORIES[c.venue];
    if (c.ws_url === undefined && c.venue !== 'KUCOIN') throw new Error(`${c.venue} (${c.env}): the venues file needs ws_url, the user-data WebSocket`);
    const adapter: VenueAdapter = factory({
      env: c.env,
      rest_url: c.rest_url,
      ws_url: c.ws_url ?? '',
      api_key: secretFrom(c.credentials.api_key, env),
      api_secret: secretFrom(c.credentials.api_secret, env),
      ...(c.credentials.passphrase ? { passphrase: secretFrom(c.credentials.passphrase, env) } : {}),
      account: c.account,
      ...(c.timeout_ms ? { timeout_ms: c.timeout_ms } : {}),
      ...(c.recv_window_ms ? { recv_window_ms: c.recv_window_ms } : {}),
      ...(c.rate_limit_multiplier ? { rate_limit_multiplier: c.rate_limit_multiplier } : {}),
    });
    return { venue: c.venue, env: c.env, account: c.account, adapter };
  });
  const settle = file.settle_ms ?? Math.max(5_000, ...file.venues.map((v) => v.recv_window_ms ?? 0));
  return new LiveSession(venues, { settleMs: settle });
}

export function loadVenuesFile(path: string): VenuesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the venues file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseVenuesFile(text, path);
}
