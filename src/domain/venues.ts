// The venues file's contract: which live venues the gateway trades on, in which environment, at
// which URLs, with the keys in which environment variables (never the keys themselves).
import { z } from 'zod';

const envVar = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, e.g. BINANCE_TESTNET_API_KEY')
  .describe('name of the environment variable holding the value (or <NAME>_FILE naming a file that holds it)');

export const VenueConfig = z.strictObject({
  venue: z.enum(['BINANCE', 'OKX', 'KUCOIN']),
  env: z.enum(['staging', 'prod']).describe('staging: testnet or demo keys; prod: live keys. An order trades only on a venue of its own env.'),
  account: z.string().min(1).default('default').describe('the fillstream account these keys trade for (quarantine is per account)'),
  rest_url: z.url().describe('REST base URL, e.g. https://testnet.binance.vision'),
  ws_url: z.url().describe('user-data WebSocket URL (KuCoin: unused, the bullet endpoint gives it)'),
  credentials: z.strictObject({ api_key: envVar, api_secret: envVar, passphrase: envVar.optional().describe('OKX and KuCoin') }),
  timeout_ms: z.number().int().positive().max(60_000).optional().describe('no reply within this: the order is UNKNOWN and asked about (default 5000)'),
  recv_window_ms: z.number().int().positive().max(60_000).optional().describe('Binance recvWindow (default 5000)'),
  rate_limit_multiplier: z
    .number()
    .positive()
    .max(1000)
    .optional()
    .describe("OKX: the account's limits are OKX's published base limits times this (VIP tiers); Binance and KuCoin announce theirs"),
});
export type VenueConfig = z.infer<typeof VenueConfig>;

export const VenuesFile = z.strictObject({
  venues: z.array(VenueConfig).min(1),
  settle_ms: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .optional()
    .describe('after a placement got no answer, wait this long before asking the venue (default: the largest recv_window_ms, else 5000)'),
});
export type VenuesFile = z.infer<typeof VenuesFile>;
