// Deterministic identifiers: the same intent always maps to the same client order id,
// so a resubmission after a crash finds the existing venue order instead of placing another.
import { hash } from 'node:crypto';

/** 32 alphanumeric characters: fits Binance (36), OKX (32, alphanumeric only) and KuCoin (40). */
export function clientOrderId(intentId: string, leg = 0, attempt = 0): string {
  const h = hash('sha256', `${intentId}\u0000${leg}\u0000${attempt}`, 'hex');
  return 'fs' + h.slice(0, 30);
}

/** Content fingerprint of a fill: venue, venue order id, trade id, qty, price and time. */
export function fillFingerprint(f: { venue: string; venue_order_id: string; trade_id: string; qty: string; price: string; ts: string }): string {
  return hash('sha256', `${f.venue}\u0000${f.venue_order_id}\u0000${f.trade_id}\u0000${f.qty}\u0000${f.price}\u0000${f.ts}`, 'hex').slice(0, 32);
}
