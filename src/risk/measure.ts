// What the rules measure at an intent's time: marks, USD rates, resulting positions, exposure and
// PnL. Pure: marks come from the book at the event time, positions from the risk fold.
import { ZERO, dec, type Dec } from '../domain/decimal.js';
import { midPrice } from '../market/book.js';
import { USD_LIKE } from '../market/instruments.js';
import type { Book, MarketData } from '../market/types.js';
import { usdPerQuote } from '../market/usd.js';
import type { PositionAcc } from '../positions/positions.js';
import { strategyKey, venueOf, type RiskState } from './state.js';

const ONE = dec(1);

// Values reused across decisions while their inputs are the very same objects: the fold replaces a
// decimal when it changes (never mutates one), and a mark is the same object for every decision
// within one book snapshot (an equal one otherwise). So most positions are valued once per
// snapshot, not once per decision.
const values = new WeakMap<Dec, { unit: Dec; value: Dec }>();

/** qty × unit, remembered for this qty object and unit object. */
function valueOf(qty: Dec, unit: Dec): Dec {
  const hit = values.get(qty);
  if (hit && (hit.unit === unit || hit.unit.eq(unit))) return hit.value;
  const value = qty.times(unit);
  values.set(qty, { unit, value });
  return value;
}

const pnls = new WeakMap<PositionAcc, { qty: Dec; cost: Dec; realized: Dec; fees: Dec; mark: Dec; rate: Dec; usd: Dec }>();

/** A position's realized (net of quote fees) + unrealized PnL in USD, remembered while its figures and the mark and rate stay the same objects. */
function pnlOfPosition(acc: PositionAcc, mark: Dec, rate: Dec): Dec {
  const hit = pnls.get(acc);
  if (
    hit &&
    hit.qty === acc.qty &&
    hit.cost === acc.cost &&
    hit.realized === acc.realized &&
    hit.fees === acc.fees &&
    (hit.mark === mark || hit.mark.eq(mark)) &&
    (hit.rate === rate || hit.rate.eq(rate))
  )
    return hit.usd;
  let quote = acc.realized.minus(acc.fees);
  if (acc.qty.coef !== 0n) quote = quote.plus(acc.qty.times(mark).minus(acc.cost));
  const usd = rate === ONE ? quote : quote.times(rate);
  pnls.set(acc, { qty: acc.qty, cost: acc.cost, realized: acc.realized, fees: acc.fees, mark, rate, usd });
  return usd;
}

/** Mids by book: markets hand out the same book object for every time within one snapshot, so most decisions find it here. */
const mids = new WeakMap<Book, Dec | null>();
function midOf(book: Book | undefined): Dec | undefined {
  if (!book) return undefined;
  let m = mids.get(book);
  if (m === undefined) mids.set(book, (m = midPrice(book) ?? null));
  return m ?? undefined;
}

export interface Term {
  account: string;
  instrument_id: string;
  quote: string;
  qty: Dec;
}

/** One decision's view of the market, memoized: each mark and rate is looked up once. */
export class Measure {
  private readonly marks = new Map<string, Dec | null>();
  private readonly rates = new Map<string, Dec | null>();
  private readonly units = new Map<string, Dec | null>();
  private readonly termsBy = new Map<string, Term[]>();
  private readonly pnls = new Map<string, Dec | null>();
  private readonly exposures = new Map<string, { gross: Dec; net: Dec; own: Dec } | { unmarked: string }>();

  constructor(
    readonly state: RiskState,
    readonly market: MarketData,
    readonly tsUs: number,
  ) {}

  /** Mid of the instrument's book at the decision's time. */
  mark(instrumentId: string): Dec | undefined {
    let m = this.marks.get(instrumentId);
    if (m === undefined) this.marks.set(instrumentId, (m = midOf(this.market.bookAt(instrumentId, this.tsUs)) ?? null));
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
    let u = this.units.get(instrumentId);
    if (u === undefined) {
      const m = this.mark(instrumentId);
      const r = m && this.usd(venueOf(instrumentId), quote);
      this.units.set(instrumentId, (u = m && r ? (r === ONE ? m : m.times(r)) : null));
    }
    return u ?? undefined;
  }

  /**
   * Each instrument an account holds or has open intents on, with its resulting quantity; the
   * whole book when account is undefined. Worked out once per decision and scope.
   */
  terms(account: string | undefined): readonly Term[] {
    const key = account ?? '\u0000book';
    let out = this.termsBy.get(key);
    if (out) return out;
    out = [];
    const accounts = account === undefined ? new Set([...this.state.positions.positions.keys(), ...this.state.openQty.keys()]) : [account];
    for (const acct of accounts) {
      const held = this.state.positions.positions.get(acct);
      const open = this.state.openQty.get(acct);
      if (held) for (const [id, acc] of held) out.push({ account: acct, instrument_id: id, quote: acc.meta.quote, qty: open?.has(id) ? acc.qty.plus(open.get(id)!) : acc.qty });
      if (open) {
        for (const [id, q] of open) {
          if (held?.has(id)) continue;
          out.push({ account: acct, instrument_id: id, quote: this.market.instrument(id)?.quote ?? '?', qty: q });
        }
      }
    }
    this.termsBy.set(key, out);
    return out;
  }

  /**
   * USD exposure of an account (or the whole book) at the marks, gross and net, leaving out the
   * order's own account and instrument, whose resulting quantity comes back as `own` (the rules
   * solve for the order's size on it). Worked out once per decision and scope.
   */
  exposure(account: string | undefined, ownAccount: string, ownInstrument: string): { gross: Dec; net: Dec; own: Dec } | { unmarked: string } {
    const key = `${account ?? '\u0000book'}\u0000${ownAccount}\u0000${ownInstrument}`;
    let e = this.exposures.get(key);
    if (e) return e;
    let gross = ZERO;
    let net = ZERO;
    let own = ZERO;
    e = undefined;
    for (const t of this.terms(account)) {
      if (t.account === ownAccount && t.instrument_id === ownInstrument) {
        own = own.plus(t.qty);
        continue;
      }
      const u = this.unitUsd(t.instrument_id, t.quote);
      if (!u) {
        e = { unmarked: t.instrument_id };
        break;
      }
      const v = valueOf(t.qty, u);
      net = net.plus(v);
      gross = v.coef < 0n ? gross.minus(v) : gross.plus(v);
    }
    e ??= { gross, net, own };
    this.exposures.set(key, e);
    return e;
  }

  /** Realized (net of quote fees) + unrealized PnL in USD of a scope; undefined when a held position cannot be marked. */
  pnlUsd(scope: string): Dec | undefined {
    let p = this.pnls.get(scope);
    if (p === undefined) this.pnls.set(scope, (p = this.pnlOf(scope) ?? null));
    return p ?? undefined;
  }

  private pnlOf(scope: string): Dec | undefined {
    let total = ZERO;
    const add = (acc: PositionAcc): boolean => {
      const rate = this.usd(venueOf(acc.meta.instrument_id), acc.meta.quote);
      if (!rate) return false;
      const m = acc.qty.coef !== 0n ? this.mark(acc.meta.instrument_id) : ZERO;
      if (!m) return false;
      total = total.plus(pnlOfPosition(acc, m, rate));
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
