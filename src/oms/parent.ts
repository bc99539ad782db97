// A parent intent seen through its child orders (a split routes one intent to several venues):
// fills summed, the average price over every fill, and one status for the whole. Pure.
import { dec, fmt, ZERO } from '../domain/decimal.js';
import type { OrderStatus } from '../domain/events.js';
import { TERMINAL_STATUSES } from '../domain/events.js';

/** What the aggregate reads of each child: its status and quantities (canonical decimals). */
export interface ChildOrder {
  status: OrderStatus;
  qty: string;
  filled_qty: string;
  avg_price: string;
}

export interface ParentIntent {
  /** WORKING while a child is live; then FILLED, PARTIALLY_FILLED (done with some fills) or the children's common end. */
  status: 'WORKING' | 'FILLED' | 'PARTIALLY_FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';
  children: number;
  /** Children still live. */
  open: number;
  qty: string;
  filled_qty: string;
  /** Σ filled × average over the children / Σ filled, to 18 places; "0" before any fill. */
  avg_price: string;
}

/** The children's end when none filled: a rejection says most, then an expiry, then a cancel. */
const END_RANK: Partial<Record<OrderStatus, number>> = { REJECTED: 3, EXPIRED: 2, CANCELED: 1 };

export function parentOf(children: readonly ChildOrder[]): ParentIntent {
  let qty = ZERO;
  let filled = ZERO;
  let notional = ZERO;
  let open = 0;
  let allFilled = children.length > 0;
  let end: 'CANCELED' | 'REJECTED' | 'EXPIRED' = 'CANCELED';
  for (const c of children) {
    const f = dec(c.filled_qty);
    qty = qty.plus(c.qty);
    filled = filled.plus(f);
    notional = notional.plus(f.times(c.avg_price));
    if (!TERMINAL_STATUSES.has(c.status)) open++;
    if (c.status !== 'FILLED') allFilled = false;
    const rank = END_RANK[c.status];
    if (rank !== undefined && rank > END_RANK[end]!) end = c.status as typeof end;
  }
  const status: ParentIntent['status'] = open > 0 ? 'WORKING' : allFilled ? 'FILLED' : filled.gt(0) ? 'PARTIALLY_FILLED' : end;
  return {
    status,
    children: children.length,
    open,
    qty: fmt(qty),
    filled_qty: fmt(filled),
    avg_price: filled.gt(0) ? fmt(notional.div(filled)) : '0',
  };
}
