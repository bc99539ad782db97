// The venue seam: the gateway stage talks to every venue (simulated or real) through this.
import type { Order, VenueReport } from '../domain/events.js';

export interface VenueOrderResult {
  client_order_id: string;
  /** True when the venue already had this client order id (a retry after a crash): nothing new was placed. */
  recovered: boolean;
  /** Everything the venue reports about the order so far, in order. */
  reports: VenueReport[];
}

export interface Venue {
  /** Venue names this gateway serves, e.g. ['BINANCE','OKX','KUCOIN'] for the simulator. */
  readonly venues: readonly string[];
  /**
   * Place orders idempotently by client order id: an id the venue already knows is not placed
   * again; its existing reports come back with recovered = true. Results are in input order.
   */
  submit(orders: Order[]): Promise<VenueOrderResult[]>;
  /** Orders the venue knows about, by client order id (for reconciliation and tests). */
  knownOrders(): Promise<number>;
  close(): Promise<void>;
}
