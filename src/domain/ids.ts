// Deterministic identifiers: the same intent always maps to the same client order id,
// so a resubmission after a crash finds the existing venue order instead of placing another.
import { createHash } from 'node:crypto';

/** 32 alphanumeric characters: fits Binance (36), OKX (32, alphanumeric only) and KuCoin (40). */
export function clientOrderId(intentId: string, leg = 0, attempt = 0): string {
  const h = createHash('sha256').update(`${intentId}\u0000${leg}\u0000${attempt}`).digest('hex');
  return 'fs' + h.slice(0, 30);
}

/** Content fingerprint of a fill: venue, venue order id, trade id, qty, price and time. */
export function fillFingerprint(f: { venue: string; venue_order_id: string; trade_id: string; qty: string; price: string; ts: string }): string {
  return createHash('sha256')
    .update([f.venue, f.venue_order_id, f.trade_id, f.qty, f.price, f.ts].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}
