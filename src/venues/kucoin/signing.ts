// KuCoin request signing (API key version 2), pure: the prehash is timestamp + METHOD + endpoint
// (with its query string) + body, HMAC-SHA256 with the secret, base64; the passphrase is itself
// HMAC-SHA256'd with the secret and base64'd.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const KEY_VERSION = '2';

export function prehash(timestampMs: string, method: string, endpoint: string, body: string): string {
  return timestampMs + method.toUpperCase() + endpoint + body;
}

export function signRequest(secret: string, timestampMs: string, method: string, endpoint: string, body = ''): string {
  return createHmac('sha256', secret)
    .update(prehash(timestampMs, method, endpoint, body))
    .digest('base64');
}

export function signPassphrase(secret: string, passphrase: string): string {
  return createHmac('sha256', secret).update(passphrase).digest('base64');
}

/** The headers of a private request. */
export function authHeaders(o: { key: string; secret: string; passphrase: string; timestampMs: string; method: string; endpoint: string; body?: string }): Record<string, string> {
  return {
    'KC-API-KEY': o.key,
    'KC-API-SIGN': signRequest(o.secret, o.timestampMs, o.method, o.endpoint, o.body ?? ''),
    'KC-API-TIMESTAMP': o.timestampMs,
    'KC-API-PASSPHRASE': signPassphrase(o.secret, o.passphrase),
    'KC-API-KEY-VERSION': KEY_VERSION,
  };
}

/** Constant-time comparison of two base64 signatures (the emulator's check). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
