// The KuCoin side of the emulator over the shared exchange: KuCoin's order ids (a new one per
// alter, as alter is cancel + new there), the trade's order id and fee (charged in the quote
// currency on both sides, at the instrument's maker/taker rate: the front starts the shared core
// with feeIn 'quote'), and its JSON shapes for orders, fills, symbols and orderChange pushes.
import { fmt, ZERO, type Dec } from '../../domain/decimal.js';
import { isClosed, type EmulatedExchange, type EmulatedOrder, type EmulatedTrade, type ExchangeEvent, type RefusalCode } from '../emulator/exchange.js';

export interface TradeBooking {
  orderId: string;
  fee: Dec;
  feeRate: string;
}

export class KucoinLedger {
  /** Any order id the venue ever gave → the exchange's order sequence. */
  private readonly seqOf = new Map<string, number>();
  private readonly ids = new Map<number, string[]>();
  private readonly bookings = new Map<number, TradeBooking>();

  constructor(private readonly exchange: EmulatedExchange) {
    // First listener: a trade is booked (order id, fee) before any push about it is built.
    exchange.onEvent((e) => {
      if (e.kind === 'NEW') this.issueId(e.order);
      if (e.kind === 'TRADE' && e.trade) this.book(e.order, e.trade);
    });
  }

  /** A fresh 24-hex order id (KuCoin's look: seconds, then a counter). */
  issueId(o: EmulatedOrder): string {
    const list = this.ids.get(o.seq) ?? [];
    const id =
      Math.floor(o.created_ms / 1000)
        .toString(16)
        .padStart(8, '0') + (o.seq * 256 + list.length).toString(16).padStart(16, '0');
    list.push(id);
    this.ids.set(o.seq, list);
    this.seqOf.set(id, o.seq);
    return id;
  }

  /** Undo the newest id (an alter the exchange refused). */
  dropNewestId(o: EmulatedOrder): void {
    const id = this.ids.get(o.seq)?.pop();
    if (id) this.seqOf.delete(id);
  }

  currentId(o: EmulatedOrder): string {
    const list = this.ids.get(o.seq);
    return list ? list[list.length - 1] : '';
  }

  byId(id: string): EmulatedOrder | undefined {
    const seq = this.seqOf.get(id);
    return seq === undefined ? undefined : this.exchange.get({ seq });
  }

  private book(o: EmulatedOrder, t: EmulatedTrade): void {
    const feeRate = t.maker ? o.spec.maker_fee : o.spec.taker_fee;
    this.bookings.set(t.trade_id, { orderId: this.currentId(o), fee: t.fee, feeRate });
  }

  booking(t: EmulatedTrade): TradeBooking {
    return this.bookings.get(t.trade_id) ?? { orderId: '', fee: ZERO, feeRate: '0' };
  }

  orderJson(o: EmulatedOrder, id = this.currentId(o)): Record<string, unknown> {
    const closed = isClosed(o);
    const left = o.qty.minus(o.filled);
    const fee = o.trades.reduce((a, t) => a.plus(this.booking(t).fee), ZERO);
    return {
      id,
      clientOid: o.client_order_id,
      symbol: o.symbol,
      opType: 'DEAL',
      type: o.type === 'MARKET' ? 'market' : 'limit',
      side: o.side === 'BUY' ? 'buy' : 'sell',
      price: o.price ? fmt(o.price) : '0',
      size: fmt(o.qty),
      funds: o.funds ? fmt(o.funds) : '0',
      dealSize: fmt(o.filled),
      dealFunds: fmt(o.filled_quote),
      remainSize: closed ? '0' : fmt(left),
      remainFunds: '0',
      cancelledSize: closed && o.status !== 'FILLED' ? fmt(left) : '0',
      cancelledFunds: '0',
      fee: fmt(fee),
      feeCurrency: o.spec.quote,
      stp: null,
      timeInForce: o.tif,
      postOnly: o.type === 'LIMIT_MAKER',
      hidden: false,
      iceberg: false,
      visibleSize: '0',
      cancelAfter: 0,
      channel: 'API',
      remark: null,
      tags: null,
      cancelExist: o.status === 'CANCELED' || o.status === 'EXPIRED',
      tradeType: 'TRADE',
      inOrderBook: !closed && o.type !== 'MARKET',
      active: !closed,
      tax: '0',
      createdAt: o.created_ms,
      lastUpdatedAt: o.updated_ms,
    };
  }

  fillJson(o: EmulatedOrder, t: EmulatedTrade): Record<string, unknown> & { id: number; orderId: string; createdAt: number } {
    const b = this.booking(t);
    return {
      id: t.trade_id,
      orderId: b.orderId,
      counterOrderId: `cp${t.trade_id.toString(16).padStart(22, '0')}`,
      tradeId: t.trade_id,
      symbol: o.symbol,
      side: o.side === 'BUY' ? 'buy' : 'sell',
      liquidity: t.maker ? 'maker' : 'taker',
      type: o.type === 'MARKET' ? 'market' : 'limit',
      forceTaker: false,
      price: fmt(t.price),
      size: fmt(t.qty),
      funds: fmt(t.qty.times(t.price)),
      fee: fmt(b.fee),
      feeRate: b.feeRate,
      feeCurrency: o.spec.quote,
      stop: '',
      tradeType: 'TRADE',
      taxRate: '0',
      tax: '0',
      createdAt: t.ts_ms,
    };
  }

  /** Every fill of the venue's orders on `symbol`, newest first (the order of GET /api/v1/hf/fills). */
  fills(symbol: string): ReturnType<KucoinLedger['fillJson']>[] {
    return this.exchange
      .trades(symbol)
      .map(({ order, trade }) => this.fillJson(order, trade))
      .reverse();
  }

  /** The orderChange data (V2) for an exchange event; `open` is pushed by the front after placement. */
  orderChanges(e: ExchangeEvent): { data: Record<string, unknown>; trade: boolean }[] {
    const o = e.order;
    const base = {
      symbol: o.symbol,
      orderType: o.type === 'MARKET' ? 'market' : 'limit',
      side: o.side === 'BUY' ? 'buy' : 'sell',
      orderId: this.currentId(o),
      clientOid: o.client_order_id,
      orderTime: o.created_ms * 1_000_000 + 123_456,
      originSize: fmt(o.qty),
      ...(o.price ? { price: fmt(o.price) } : {}),
    };
    const state = {
      size: fmt(o.qty),
      filledSize: fmt(o.filled),
      remainSize: isClosed(o) ? '0' : fmt(o.qty.minus(o.filled)),
      canceledSize: o.status === 'CANCELED' || o.status === 'EXPIRED' ? fmt(o.qty.minus(o.filled)) : '0',
    };
    const ns = (ms: number) => ms * 1_000_000 + 123_456;
    switch (e.kind) {
      case 'NEW':
        return [{ data: { ...base, type: 'received', status: 'new', ts: ns(o.created_ms) }, trade: false }];
      case 'TRADE': {
        const t = e.trade!;
        const b = this.booking(t);
        const out: { data: Record<string, unknown>; trade: boolean }[] = [
          {
            data: {
              ...base,
              ...state,
              orderId: b.orderId,
              type: 'match',
              status: 'match',
              liquidity: t.maker ? 'maker' : 'taker',
              matchPrice: fmt(t.price),
              matchSize: fmt(t.qty),
              tradeId: String(t.trade_id),
              ts: ns(t.ts_ms),
            },
            trade: true,
          },
        ];
        if (o.status === 'FILLED') out.push({ data: { ...base, ...state, type: 'filled', status: 'done', ts: ns(t.ts_ms) }, trade: false });
        return out;
      }
      case 'CANCELED':
      case 'EXPIRED':
        return [{ data: { ...base, ...state, type: 'canceled', status: 'done', ts: ns(o.updated_ms) }, trade: false }];
      case 'AMENDED':
        return [{ data: { ...base, ...state, type: 'update', status: 'open', ts: ns(o.updated_ms) }, trade: false }];
      default:
        return [];
    }
  }

  openChange(o: EmulatedOrder): Record<string, unknown> {
    return { ...this.orderChanges({ kind: 'AMENDED', order: o })[0].data, type: 'open', status: 'open' };
  }
}

/** The KuCoin error for each refusal of the shared exchange: [HTTP status, code, msg]. */
export function refusalError(code: RefusalCode, message: string): [number, string, string] {
  switch (code) {
    case 'UNKNOWN_SYMBOL':
      return [200, '900001', 'symbol not exists'];
    case 'DUPLICATE_CLIENT_ID':
      return [200, '126044', 'clientOid duplicate'];
    case 'UNKNOWN_ORDER':
    case 'ORDER_CLOSED':
      return [200, '400100', 'order_not_exist_or_not_allow_to_cancel'];
    case 'NO_MARKET_DATA':
      return [200, '200001', 'Order creation for this pair suspended'];
    case 'INSUFFICIENT_BALANCE':
      return [200, '200004', 'Balance insufficient!'];
    case 'LOT_SIZE':
      return [
        400,
        '400100',
        message.includes('below') ? 'The quantity is below the minimum requirement.' : message.includes('multiple') ? 'Order size increment invalid.' : message,
      ];
    case 'PRICE_FILTER':
      return [400, '400100', 'Price increment invalid.'];
    case 'MIN_NOTIONAL':
      return [400, '400100', `Funds below the minimum requirement. (${message})`];
    case 'BAD_QTY':
    case 'WOULD_TAKE':
    default:
      return [400, '400100', message];
  }
}
