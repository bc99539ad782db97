// What the rules measure at an intent's time: marks, USD rates, resulting positions, exposure and
// PnL. Pure: marks come from the book at the event time, positions from the risk fold.
import { ZERO, dec, type Dec } from '../domain/decimal.js';
import { midPrice } from '../market/book.js';
import { USD_LIKE } from '../market/instruments.js';
import type { MarketData } from '../market/types.js';
import { usdPerQuote } from '../market/usd.js';
import type { PositionAcc } from '../positions/positions.js';
import { strategyKey, venueOf, type RiskState } from './state.js';

const ONE = dec(1);

/** One decision's view of the market, memoized: each mark and rate is looked up once. */
export class Measure {
  private readonly marks = new Map<string, Dec | null>();
  private readonly rates = new Map<string, Dec | null>();

  constructor(
    readonly state: RiskState,
    readonly market: MarketData,
    readonly tsUs: number,
  ) {}

  /** Mid of the instrument's book at the decision's time. */
  mark(instrumentId: string): Dec | undefined {
    let m = this.marks.get(instrumentId);
    if (m === undefined) this.marks.set(instrumentId, (m = midPrice(this.market.bookAt(instrumentId, this.tsUs)) ?? null));
    return m ?? undefined;
  }

  /** USD per unit of `quote` on `venue`. */
  usd(venue: string, quote: string): Dec | undefined {
    if (USD_LIKE.has(quote)) return ONE;
    const k = `${venue}/${quote}`;
    let r = this.rates.get(k);
    if (r === undefined) this.rates.set(k, (r = usdPerQuote(this.market, { venue, quote }, this.tsUs) ?? null));
    return r ?? undefined;
  }

  /** USD value of one base unit of the instrument; undefined without a mark or a rate. */
  unitUsd(instrumentId: string, quote: string): Dec | undefined {
    const m = this.mark(instrumentId);
    const r = m && this.usd(venueOf(instrumentId), quote);
    return m && r ? (r === ONE ? m : m.times(r)) : undefined;
  }

  /** Signed quantity held plus open intents not yet filled, of one account's instrument. */
  resulting(account: string, instrumentId: string): Dec {
    const held = this.state.positions.positions.get(account)?.get(instrumentId)?.qty ?? ZERO;
    const open = this.state.openQty.get(`${account}|${instrumentId}`);
    return open ? held.plus(open) : held;
  }

  /**
   * Each instrument an account holds or has open intents on, with its resulting quantity; the
   * whole book when account is undefined.
   */
  terms(account: string | undefined): { account: string; instrument_id: string; quote: string; qty: Dec }[] {
    const out = new Map<string, { account: string; instrument_id: string; quote: string; qty: Dec }>();
    for (const [acct, byInstrument] of this.state.positions.positions) {
      if (account !== undefined && acct !== account) continue;
      for (const [id, acc] of byInstrument) out.set(`${acct}|${id}`, { account: acct, instrument_id: id, quote: acc.meta.quote, qty: acc.qty });
    }
    for (const [key, q] of this.state.openQty) {
      const bar = key.indexOf('|');
      const acct = key.slice(0, bar);
      if (account !== undefined && acct !== account) continue;
      const t = out.get(key);
      if (t) out.set(key, { ...t, qty: t.qty.plus(q) });
      else {
        const id = key.slice(bar + 1);
        const spec = this.market.instrument(id);
        out.set(key, { account: acct, instrument_id: id, quote: spec?.quote ?? '?', qty: q });
      }
    }
    return [...out.values()];
  }

  /** Realized (net of quote fees) + unrealized PnL in USD of a scope; undefined when a held position cannot be marked. */
  pnlUsd(scope: string): Dec | undefined {
    let total = ZERO;
    const add = (acc: PositionAcc): boolean => {
      const rate = this.usd(venueOf(acc.meta.instrument_id), acc.meta.quote);
      if (!rate) return false;
      let quote = acc.realized.minus(acc.fees);
      if (acc.qty.coef !== 0n) {
        const m = this.mark(acc.meta.instrument_id);
        if (!m) return false;
        quote = quote.plus(acc.qty.times(m).minus(acc.cost));
      }
      total = total.plus(rate === ONE ? quote : quote.times(rate));
      return true;
    };
    if (scope.startsWith('strategy:')) {
      const prefix = strategyKey(scope.slice('strategy:'.length), '');
      for (const [k, byInstrument] of this.state.byStrategy.positions) {
        if (!k.startsWith(prefix)) continue;
        for (const acc of byInstrument.values()) if (!add(acc)) return undefined;
      }
      return total;
    }
    const account = scope.startsWith('account:') ? scope.slice('account:'.length) : undefined;
    for (const [acct, byInstrument] of this.state.positions.positions) {
      if (account !== undefined && acct !== account) continue;
      for (const acc of byInstrument.values()) if (!add(acc)) return undefined;
    }
    return total;
  }
}
