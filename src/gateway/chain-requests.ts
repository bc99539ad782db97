// What the gateway does for chains besides placing their legs: a paper leg's order test on its
// venue, and the wait for a live venue's balance to show a leg's output (handed to the live
// session, which answers on the log; waits not answered yet are kept, so a restart resumes them).
import type { EventOf } from '../domain/events.js';
import { nowMicros } from '../domain/time.js';
import type { OutRecord } from '../log/types.js';
import type { OrderTestAnswer } from '../venues/types.js';
import { balanceSeen, roundMs, type LiveVenue } from './live.js';
import type { LiveSession } from './session.js';

/** A paper leg's order on its venue's order-test endpoint (nothing is placed): the venue's word. */
export async function orderTested(e: EventOf<'OrderTestRequested'>, lv: LiveVenue | undefined, halted: string | undefined): Promise<EventOf<'OrderTested'>> {
  const order = e.data.order;
  const t0 = performance.now();
  let answer: OrderTestAnswer | { kind: 'untested' };
  if (!lv) answer = { kind: 'rejected', code: 'NO_GATEWAY', reason: `no ${order.env} gateway is configured for ${order.venue}` };
  else if (halted !== undefined) answer = { kind: 'rejected', code: 'VENUE_HALTED', reason: `${lv.venue} (${lv.env}) is halted: ${halted}` };
  else if (!lv.adapter.testOrder) answer = { kind: 'untested' };
  else {
    try {
      answer = await lv.adapter.testOrder(order, e.ts);
    } catch (err) {
      // An answer it could not read is no verdict: the leg is not filled on a guess.
      answer = { kind: 'unknown', reason: (err as Error).message };
    }
  }
  return {
    event_id: `${e.intent_id}/chain/tested/${e.data.leg}`,
    type: 'OrderTested',
    intent_id: e.intent_id,
    account: e.account,
    strategy: e.strategy,
    ts: e.ts,
    causation: e.event_id,
    recorded_at: '',
    data: {
      leg: e.data.leg,
      client_order_id: order.client_order_id,
      venue: order.venue,
      outcome: answer.kind,
      ...(answer.kind === 'rejected' ? { code: answer.code, reason: answer.reason } : answer.kind === 'unknown' ? { reason: answer.reason } : {}),
      latency_ms: roundMs(performance.now() - t0),
      at_us: nowMicros(),
    },
  };
}

/** Chains' balance waits, by chain/leg, until answered. */
export class BalanceWaits {
  private readonly open = new Map<string, { awaited: EventOf<'ChainBalanceAwaited'>; partition: number }>();

  constructor(private readonly live: LiveSession | undefined) {}

  /** A wait asked for, or its answer: what is still open. */
  note(e: EventOf<'ChainBalanceAwaited' | 'ChainBalanceSeen'>, partition: number): void {
    const key = `${e.intent_id}/${e.data.leg}`;
    if (e.type === 'ChainBalanceSeen') this.open.delete(key);
    else this.open.set(key, { awaited: e, partition });
  }

  /** Hands a wait to its venue's live session (it answers on the log); answered now when no gateway serves the venue. */
  start(w: EventOf<'ChainBalanceAwaited'>, partition: number): OutRecord | undefined {
    const lv = this.live?.venueFor(w.data);
    if (lv) {
      this.live!.awaitBalance(lv, w, partition);
      return undefined;
    }
    return balanceSeen(w, { met: false, waited_ms: 0, asks: 0, error: `no ${w.data.env} gateway is configured for ${w.data.venue}` }, partition);
  }

  /** After a restore: every wait a previous process took on and never answered goes on (the answers due now are returned). */
  resume(): OutRecord[] {
    const out: OutRecord[] = [];
    for (const { awaited, partition } of this.open.values()) {
      const answered = this.start(awaited, partition);
      if (answered) out.push(answered);
    }
    return out;
  }
}
