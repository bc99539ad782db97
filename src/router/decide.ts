// Routing: a risk-approved intent becomes a concrete order for one venue. Pure.
import { ceilTo, dec, floorTo, fmt } from '../domain/decimal.js';
import { makeEvent } from '../domain/envelope.js';
import type { Decider } from '../domain/decider.js';
import type { EventOf, Order } from '../domain/events.js';
import { clientOrderId } from '../domain/ids.js';
import { midPrice, quantityForNotional } from '../market/book.js';
import type { MarketData } from '../market/types.js';
import { isoToMicros } from '../domain/time.js';

/** A risk-approved intent to route, with the venues' instruments and books (read at the intent's time). */
export interface RouteIntent {
  approved: EventOf<'RiskApproved' | 'OrderChangeApproved'>;
  market: MarketData;
}

/** Stateless today: the smart router will keep venue latencies and balances here. */
export type RouterState = null;

export type RouterEvent = EventOf<'OrderRouted' | 'OrderChangeRouted'>;

export const router = {
  initialState: (): RouterState => null,
  decide: (command: RouteIntent, _state: RouterState): RouterEvent[] => [
    command.approved.type === 'OrderChangeApproved' ? routeChange(command.approved) : route(command as RouteOrder),
  ],
  evolve: (state: RouterState): RouterState => state,
} satisfies Decider<RouteIntent, RouterState, RouterEvent>;

type RouteOrder = { approved: EventOf<'RiskApproved'>; market: MarketData };

/** A cancel or amend goes where the target's orders are: the gateway holds them. */
function routeChange(event: EventOf<'OrderChangeApproved'>): RouterEvent {
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };
  return makeEvent('OrderChangeRouted', `${event.intent_id}/route/change`, seed, { request: event.data.request });
}

function route({ approved: event, market }: RouteOrder): RouterEvent {
  const intent = event.data.intent;
  // The smart router (cost model, splits) replaces this choice later: the first candidate wins.
  const instrumentId = intent.venues[0];
  const spec = market.instrument(instrumentId)!;
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };

  // Risk may have narrowed the candidates to a venue other than the one the intent was sized on:
  // quantity and reference price then come from the chosen venue's own book.
  let qty = intent.qty;
  let refPrice = intent.ref_price;
  if (spec.instrument_id !== intent.sized_on) {
    const book = market.bookAt(spec.instrument_id, isoToMicros(intent.ts));
    const mid = midPrice(book);
    if (book && mid) {
      refPrice = fmt(mid);
      const walked = intent.size.type === 'notional' ? quantityForNotional(book, intent.side, dec(intent.size.value)) : undefined;
      if (walked) qty = fmt(walked);
    }
  }

  let orderType = intent.order_type;
  let tif = intent.tif;
  let limitPrice = intent.limit_price;
  // A slippage cap on a MARKET order becomes a marketable LIMIT at the protective price:
  // venues do not take a price guard on market orders, and this keeps the cap exact.
  if (orderType === 'MARKET' && intent.max_slippage_bps !== undefined) {
    const ref = dec(refPrice);
    const band = dec(intent.max_slippage_bps).div(10_000);
    const tick = dec(spec.tick_size);
    const guard = intent.side === 'BUY' ? floorTo(ref.times(dec(1).plus(band)), tick) : ceilTo(ref.times(dec(1).minus(band)), tick);
    orderType = 'LIMIT';
    limitPrice = fmt(guard);
    tif = tif === 'FOK' ? 'FOK' : 'IOC';
  }

  const order: Order = {
    client_order_id: clientOrderId(intent.intent_id, 0, 0),
    intent_id: intent.intent_id,
    leg: 0,
    attempt: 0,
    account: intent.account,
    strategy: intent.strategy,
    env: intent.env,
    instrument_id: spec.instrument_id,
    venue: spec.venue,
    symbol: spec.symbol,
    side: intent.side,
    order_type: orderType,
    // A notional-sized intent may land on a venue with a coarser lot than the one it was sized on.
    qty: intent.size.type === 'notional' ? fmt(floorTo(dec(qty), dec(spec.lot_size))) : qty,
    ...(limitPrice !== undefined ? { limit_price: limitPrice } : {}),
    tif,
    ...(intent.expire_at !== undefined ? { expire_at: intent.expire_at } : {}),
    ...(intent.stop_loss !== undefined ? { stop_loss: intent.stop_loss } : {}),
    ref_price: refPrice,
  };
  return makeEvent('OrderRouted', `${intent.intent_id}/route/0`, seed, { order });
}
