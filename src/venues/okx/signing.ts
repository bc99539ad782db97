// OKX v5 request signing, pure: HMAC-SHA256 over the prehash string, Base64.
//   REST:      timestamp (ISO 8601, ms) + METHOD + requestPath (with its ?query) + body
//   WS login:  timestamp (Unix seconds) + 'GET' + '/users/self/verify'
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where OKX's WebSocket login signs as if it were a GET. */
export const WS_VERIFY_PATH = '/users/self/verify';

export function okxPrehash(timestamp: string, method: string, requestPath: string, body = ''): string {
  return timestamp + method.toUpperCase() + requestPath + body;
}

export function okxSign(secret: string, prehash: string): string {
  return createHmac('sha256', secret).update(prehash, 'utf8').digest('base64');
}

/** OK-ACCESS-SIGN for one REST request. */
export function signRest(secret: string, timestamp: string, method: string, requestPath: string, body = ''): string {
  return okxSign(secret, okxPrehash(timestamp, method, requestPath, body));
}

/** The `sign` of a WebSocket login at `unixSeconds`. */
export function signWsLogin(secret: string, unixSeconds: string): string {
  return okxSign(secret, okxPrehash(unixSeconds, 'GET', WS_VERIFY_PATH));
}

/** OK-ACCESS-TIMESTAMP: UTC ISO 8601 with milliseconds, e.g. 2020-12-08T09:08:57.715Z. */
export function okxTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The login timestamp: Unix seconds as a decimal string. */
export function okxWsTimestamp(epochMs: number): string {
  return String(Math.floor(epochMs / 1000));
}

/** Constant-time comparison of two signatures (the emulator's check). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
