// Binance request signing (HMAC-SHA256 keys), pure. REST: the hex HMAC of the query string
// followed directly by the body (no separator). WebSocket API: the hex HMAC of the params, sorted
// by name, as name=value pairs joined by '&'.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Param = string | number | boolean | undefined;

export function hmacSha256Hex(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/** name=value pairs in the given order, percent-encoded (Binance signs the encoded form); undefined values left out. */
export function encodeParams(params: Readonly<Record<string, Param>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.join('&');
}

/** The signature of a REST request: query string and body as sent, concatenated. */
export function signRest(secret: string, query: string, body = ''): string {
  return hmacSha256Hex(secret, query + body);
}

/** The payload a WebSocket API request signs: every param but `signature`, sorted by name, not encoded. */
export function wsSignaturePayload(params: Readonly<Record<string, Param>>): string {
  return Object.keys(params)
    .filter((k) => k !== 'signature' && params[k] !== undefined)
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join('&');
}

export function signWsParams(secret: string, params: Readonly<Record<string, Param>>): string {
  return hmacSha256Hex(secret, wsSignaturePayload(params));
}

/** HMAC signatures are case-insensitive hex at Binance; compared in constant time. */
export function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(given.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}
