// The live venues of one gateway process: started once (probes, clock, rules), reconciled against
// the log each time a gateway stage attaches (on start, and after a Kafka stage is rebuilt), and
// watched while it runs: user-data pushes are written to the log, orders whose answer never came
// are asked about after the venue's own deadline, orders past expire_at are canceled.
import { dec } from '../domain/decimal.js';
import type { EventOf, Order } from '../domain/events.js';
import type { EventLog, OutRecord } from '../log/types.js';
import { isoToMicros } from '../domain/time.js';
import type { OrderState } from '../oms/order.js';
import type { VenueMessage, VenueStartup } from '../venues/types.js';
import { balanceSeen, checkStartup, roundMs, liveKey, reconcile, reportReceived, venueEvent, type GatewayPortView, type KnownOrder, type LiveVenue } from './live.js';

export interface LiveSessionOptions {
  /** After a placement got no answer, wait this long before asking the venue: its own deadline for a request (Binance's recvWindow). */
  settleMs?: number;
  /** How often unknown and expiring orders are looked at. */
  tickMs?: number;
  /** One line per notable thing (default stderr). */
  say?: (line: string) => void;
  /** How long start waits for each venue's user-data stream before trading on without it (default 10,000 ms). */
  streamWaitMs?: number;
  /** A chain's balance wait reads the balance again after this long, then twice as long each time up to 250 ms (default 20). */
  balancePollMs?: number;
}

export class LiveSession {
  private readonly byKey = new Map<string, LiveVenue>();
  private started = false;
  private log: EventLog | undefined;
  private port: GatewayPortView | undefined;
  private readonly settleMs: number;
  private readonly tickMs: number;
  private readonly say: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  /** When each unknown order was first seen unknown (wall ms). */
  private readonly unknownSince = new Map<string, number>();
  private readonly toQuery = new Set<string>();
  private readonly expiring = new Set<string>();
  /** Live orders that pushes may have missed (stream down, or one that should have ended at once): when last asked about. */
  private readonly quietSince = new Map<string, number>();
  /** Venues whose user-data stream is up, by liveKey. */
  private readonly streamUp = new Set<string>();
  private readonly streamWaitMs: number;
  private writes: Promise<unknown> = Promise.resolve();
  private ticking = false;
  private closing = false;
  /** Balance waits in progress, by chain/leg. */
  private readonly waits = new Map<string, Promise<void>>();
  private readonly balancePollMs: number;
  readonly startups = new Map<string, VenueStartup>();

  constructor(
    readonly venues: readonly LiveVenue[],
    o: LiveSessionOptions = {},
  ) {
    for (const v of venues) {
      const key = liveKey(v.env, v.venue);
      if (this.byKey.has(key)) throw new Error(`two ${v.env} gateways for ${v.venue}: one set of credentials per venue and environment`);
      if (v.adapter.env !== v.env) throw new Error(`${v.venue}: the adapter carries ${v.adapter.env} orders but is configured for ${v.env}`);
      this.byKey.set(key, v);
    }
    this.settleMs = o.settleMs ?? 5_000;
    this.tickMs = o.tickMs ?? 250;
    this.streamWaitMs = o.streamWaitMs ?? 10_000;
    this.balancePollMs = o.balancePollMs ?? 20;
    this.say = o.say ?? ((l) => process.stderr.write(`fillstream: ${l}\n`));
  }

  /** The live venue that may carry this order: same venue, same environment. */
  venueFor(order: Pick<Order, 'env' | 'venue'>): LiveVenue | undefined {
    return order.env === 'sim' ? undefined : this.byKey.get(liveKey(order.env, order.venue));
  }

  serves(order: Pick<Order, 'env' | 'venue'>): boolean {
    return this.venueFor(order) !== undefined;
  }

  resume(env: string, venue: string): void {
    this.byKey.get(liveKey(env, venue))?.adapter.resume();
  }

  halted(lv: LiveVenue, reason: string): OutRecord {
    return venueEvent(lv, 'VenueHalted', `halted/${Date.now()}`, { venue: lv.venue, env: lv.env, reason });
  }

  /**
   * A chain's balance wait: the venue's balance is read (at once, then at growing intervals) until
   * it shows what the previous leg delivered or the wait, counted from when it was asked, is over;
   * the answer goes to the log (the chain decider goes on from it). One read loop per wait, however
   * often the request is handed over (a restore resumes the waits it finds unanswered).
   */
  awaitBalance(lv: LiveVenue, w: EventOf<'ChainBalanceAwaited'>, partition: number): void {
    const key = `${w.intent_id}/${w.data.leg}`;
    if (this.waits.has(key)) return;
    const run = this.readBalance(lv, w)
      // Stopped mid-wait: nothing is decided; the next start resumes the wait from the log.
      .then((seen) => (seen ? this.write([balanceSeen(w, seen, partition)]) : undefined))
      .catch((e: unknown) => this.say(`${lv.venue}: could not answer the balance wait of chain ${w.intent_id} (${(e as Error).message}); the next start asks again`))
      .finally(() => this.waits.delete(key));
    this.waits.set(key, run);
  }

  /** What the balance showed by the end of the wait; undefined when the process stops first. */
  private async readBalance(
    lv: LiveVenue,
    w: EventOf<'ChainBalanceAwaited'>,
  ): Promise<{ free?: string; met: boolean; waited_ms: number; asks: number; error?: string } | undefined> {
    const askedMs = w.data.at_us / 1000;
    const deadline = askedMs + w.data.wait_ms;
    const expected = dec(w.data.expected);
    let free: string | undefined;
    let error: string | undefined;
    let asks = 0;
    let pause = this.balancePollMs;
    for (;;) {
      try {
        free = (await lv.adapter.balances([w.data.asset]))[w.data.asset] ?? '0';
        error = undefined;
        asks++;
        if (dec(free).gte(expected)) return { free, met: true, waited_ms: roundMs(Date.now() - askedMs), asks };
      } catch (e) {
        asks++;
        error = `could not read the ${w.data.asset} balance: ${(e as Error).message}`;
      }
      if (this.closing) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise((ok) => setTimeout(ok, Math.min(pause, left)));
      // Balance reads cost rate-limit weight: ask less often the longer it takes.
      pause = Math.min(pause * 2, 250);
    }
    return { ...(free !== undefined ? { free } : {}), met: false, waited_ms: roundMs(Date.now() - askedMs), asks, ...(error !== undefined ? { error } : {}) };
  }

  queryLater(order: Order): void {
    this.toQuery.add(order.client_order_id);
  }

  /**
   * Start the venues (once), then reconcile them with the gateway's fold: every live order is
   * asked about, open orders and recent trades are compared, and what the venue knows that the log
   * does not is written (reports) or flagged (quarantine). Subscribed before the comparison, so a
   * push in between is not lost (a report found twice is one fill: fingerprints).
   */
  async attach(log: EventLog, port: GatewayPortView): Promise<void> {
    this.log = log;
    this.port = port;
    if (!this.started) {
      for (const lv of this.venues) {
        const s = await lv.adapter.start();
        checkStartup(lv, s);
        this.startups.set(liveKey(lv.env, lv.venue), s);
        let connects = 0;
        let firstUp = () => {};
        const connected = new Promise<void>((resolve) => (firstUp = resolve));
        lv.adapter.subscribe(
          (ms) => this.pushed(lv, ms),
          (up, why) => {
            if (up) firstUp();
            if (up) this.streamUp.add(liveKey(lv.env, lv.venue));
            else this.streamUp.delete(liveKey(lv.env, lv.venue));
            this.say(`${lv.venue} (${lv.env}) user-data stream ${up ? 'connected' : `dropped: ${why ?? ''}`}`);
            // Back after a drop: what was pushed meanwhile is lost, so the live orders are asked about.
            if (up && connects++ > 0)
              void this.reconcileVenue(lv).catch((e: unknown) =>
                this.say(`${lv.venue}: reconciliation after reconnect failed (${(e as Error).message}); unknown orders are asked about again`),
              );
          },
        );
        // Orders go out only once pushes about them can arrive (else a fill pushed before the
        // subscription is lost until a query); a stream that cannot connect is said, not waited on forever.
        const waited = await Promise.race([connected.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), this.streamWaitMs).unref())]);
        if (!waited) this.say(`${lv.venue} (${lv.env}): the user-data stream is not up after ${this.streamWaitMs} ms; trading on, live orders are asked about until it is`);
      }
      this.started = true;
      this.timer = setInterval(() => void this.tick(), this.tickMs);
      this.timer.unref();
    }
    for (const lv of this.venues) await this.reconcileVenue(lv);
  }

  private known(coid: string): KnownOrder | undefined | 'finished' {
    const o = this.port?.orderOf(coid);
    if (!o) return undefined;
    if ('finished' in o) return 'finished';
    return { order: o.state.order, partition: o.partition, finished: false };
  }

  private knownLive = (coid: string): KnownOrder | undefined => {
    const k = this.known(coid);
    return k === 'finished' ? { order: { client_order_id: coid } as Order, partition: 0, finished: true } : k;
  };

  private write(records: OutRecord[]): Promise<void> {
    if (records.length === 0 || !this.log) return Promise.resolve();
    const log = this.log;
    // In arrival order: one append after another.
    const w = this.writes.then(() => log.append(records));
    this.writes = w.catch((e: unknown) => this.say(`could not write venue reports to the log (${(e as Error).message}); reconciliation finds them on the next start`));
    return w.then(() => undefined);
  }

  private pushed(lv: LiveVenue, messages: VenueMessage[]): void {
    const records: OutRecord[] = [];
    for (const m of messages) {
      const k = this.known(m.client_order_id);
      if (k === 'finished') continue;
      if (k) records.push(reportReceived(k, lv, { ...m, report: this.asExpiry(k.order.expire_at, m) }, 'stream'));
      else if (m.report.kind !== 'REJECTED') {
        const vid = 'venue_order_id' in m.report ? m.report.venue_order_id : undefined;
        records.push(
          venueEvent(lv, 'AccountQuarantined', `orphan/${m.client_order_id}`, {
            venue: lv.venue,
            env: lv.env,
            reason: `the venue reports order ${m.client_order_id} (${m.report.kind}), which fillstream did not place`,
            venue_client_order_id: m.client_order_id,
            ...(vid ? { venue_order_id: vid } : {}),
          }),
        );
      }
    }
    void this.write(records);
  }

  private async reconcileVenue(lv: LiveVenue): Promise<void> {
    const port = this.port!;
    const liveOrders = port.liveOrders(lv.env, lv.venue).filter((s) => s.status !== 'NEW');
    const asked: { order: KnownOrder; snapshot: Awaited<ReturnType<typeof lv.adapter.query>>; status: string }[] = [];
    for (const s of liveOrders) {
      const o = port.orderOf(s.order.client_order_id);
      const partition = o && 'partition' in o ? o.partition : 0;
      const snapshot = await lv.adapter.query({
        client_order_id: s.order.client_order_id,
        instrument_id: s.order.instrument_id,
        symbol: s.order.symbol,
        ...(s.venue_order_id ? { venue_order_id: s.venue_order_id } : {}),
      });
      asked.push({ order: { order: s.order, partition, finished: false }, snapshot, status: s.status });
    }
    const open = await lv.adapter.openOrders();
    const startup = this.startups.get(liveKey(lv.env, lv.venue));
    const symbols = [...new Set([...liveOrders.map((s) => s.order.symbol), ...open.map((o) => o.symbol)])];
    const since = sinceOf(liveOrders);
    const trades = symbols.length > 0 ? await lv.adapter.trades(symbols, since) : [];
    const r = reconcile(asked, open, trades, (coid) => this.knownLive(coid));
    const records: OutRecord[] = [];
    for (const x of r.reports) if (!x.order.finished) records.push(reportReceived(x.order, lv, x.message, x.source));
    for (const o of r.orphans) {
      records.push(
        venueEvent(lv, 'AccountQuarantined', `orphan/${o.venue_order_id}`, {
          venue: lv.venue,
          env: lv.env,
          reason: `reconciliation found ${o.reason} ${o.venue_order_id} (client id ${o.client_order_id || 'none'}) on ${lv.venue}, which fillstream did not place`,
          venue_order_id: o.venue_order_id,
          venue_client_order_id: o.client_order_id,
          ...(o.symbol ? { symbol: o.symbol } : {}),
        }),
      );
      this.say(`${lv.venue} (${lv.env}): account ${lv.account} quarantined: unknown ${o.reason} ${o.venue_order_id}`);
    }
    for (const m of r.missing) this.unknownSince.set(m.order.client_order_id, 0);
    records.push(
      venueEvent(lv, 'VenueReady', `ready/${Date.now()}`, {
        venue: lv.venue,
        env: lv.env,
        can_trade: startup?.can_trade ?? false,
        ...(startup?.can_withdraw !== undefined ? { can_withdraw: startup.can_withdraw } : {}),
        clock_offset_ms: startup?.clock_offset_ms ?? 0,
        instruments: startup?.instruments ?? [],
        ...(startup?.balances ? { balances: startup.balances } : {}),
        reconciled: { checked: liveOrders.length, reports: r.reports.length, orphans: r.orphans.length, missing: r.missing.length },
      }),
    );
    await this.write(records);
  }

  /**
   * Unknown orders asked about once the venue's deadline passed; orders past expire_at canceled;
   * pushes that may be missing are made up for by asking, every settle_ms: about every live order
   * while its venue's stream is down, and about market/IOC/FOK orders still live after that long.
   */
  private async tick(): Promise<void> {
    if (this.ticking || !this.port) return;
    this.ticking = true;
    try {
      const now = Date.now();
      const live = new Set<string>();
      for (const lv of this.venues) {
        for (const s of this.port.liveOrders(lv.env, lv.venue)) {
          live.add(s.order.client_order_id);
          const coid = s.order.client_order_id;
          if (s.status === 'UNKNOWN' || this.toQuery.has(coid)) {
            const since = this.unknownSince.get(coid) ?? now;
            if (!this.unknownSince.has(coid)) this.unknownSince.set(coid, now);
            if (now - since >= this.settleMs || this.toQuery.has(coid)) await this.resolve(lv, s);
          } else {
            this.unknownSince.delete(coid);
            if (s.status !== 'NEW' && (!this.streamUp.has(liveKey(lv.env, lv.venue)) || endsAtOnce(s.order))) {
              const since = this.quietSince.get(coid);
              if (since === undefined) this.quietSince.set(coid, now);
              else if (now - since >= this.settleMs) {
                this.quietSince.set(coid, now);
                await this.resolve(lv, s);
              }
            } else this.quietSince.delete(coid);
          }
          if (s.order.expire_at && !this.expiring.has(coid) && isoToMicros(s.order.expire_at) <= now * 1000 && s.status !== 'NEW' && s.status !== 'UNKNOWN') {
            this.expiring.add(coid);
            await this.expire(lv, s);
          }
        }
      }
      // What is no longer live needs no watching.
      for (const set of [this.expiring, this.toQuery]) for (const coid of set) if (!live.has(coid)) set.delete(coid);
      for (const map of [this.unknownSince, this.quietSince]) for (const coid of map.keys()) if (!live.has(coid)) map.delete(coid);
    } finally {
      this.ticking = false;
    }
  }

  private async resolve(lv: LiveVenue, s: OrderState): Promise<void> {
    const coid = s.order.client_order_id;
    let found;
    try {
      found = await lv.adapter.query({ client_order_id: coid, instrument_id: s.order.instrument_id, symbol: s.order.symbol });
    } catch (e) {
      this.say(`${lv.venue}: cannot ask about order ${coid} yet (${(e as Error).message}); asking again`);
      return;
    }
    this.toQuery.delete(coid);
    this.unknownSince.delete(coid);
    const k = this.known(coid);
    if (!k || k === 'finished') return;
    if (found)
      await this.write(
        found.reports.map((report) => reportReceived(k, lv, { client_order_id: coid, report: this.asExpiry(s.order.expire_at, { client_order_id: coid, report }) }, 'query')),
      );
    else if (s.status === 'UNKNOWN') {
      await this.write([
        venueEvent(
          lv,
          'VenueOrderMissing',
          `missing/${coid}/${Date.now()}`,
          { client_order_id: coid, venue: lv.venue, env: lv.env, checked_at: new Date().toISOString() },
          { intent_id: s.order.intent_id, strategy: s.order.strategy, partition: k.partition },
        ),
      ]);
    }
  }

  private async expire(lv: LiveVenue, s: OrderState): Promise<void> {
    const coid = s.order.client_order_id;
    const answer = await lv.adapter.cancel({ client_order_id: coid, instrument_id: s.order.instrument_id, symbol: s.order.symbol }, s.order.expire_at!);
    const k = this.known(coid);
    if (!k || k === 'finished') return;
    if (answer.kind !== 'answered') {
      this.expiring.delete(coid);
      return;
    }
    const reports = answer.reports.filter((r) => r.kind !== 'REJECTED');
    // Refused: the order already left the book (filled or canceled meanwhile); ask what it became.
    if (reports.length === 0) this.toQuery.add(coid);
    await this.write(reports.map((r) => reportReceived(k, lv, { client_order_id: coid, report: this.asExpiry(s.order.expire_at, { client_order_id: coid, report: r }) }, 'query')));
  }

  /** A cancel that fillstream sent because expire_at passed is the order's expiry, whichever path reports it. */
  private asExpiry(expireAt: string | undefined, m: VenueMessage): VenueMessage['report'] {
    if (m.report.kind !== 'CANCELED' || !expireAt || !this.expiring.has(m.client_order_id)) return m.report;
    return { kind: 'EXPIRED', reason: `expire_at ${expireAt} reached: canceled on the venue`, ts: m.report.ts };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closing = true;
    await Promise.all(this.waits.values());
    await this.writes.catch(() => undefined);
    await Promise.all(this.venues.map((v) => v.adapter.close().catch(() => undefined)));
  }
}

/** An order the venue ends as soon as it has matched what it can: it should not stay live. */
function endsAtOnce(o: Order): boolean {
  return o.order_type === 'MARKET' || o.tif === 'IOC' || o.tif === 'FOK';
}

/** Trades are asked for from a minute before the oldest live order (else the last hour). */
function sinceOf(orders: OrderState[]): number {
  let oldest = Date.now() - 3_600_000;
  for (const s of orders) {
    const us = isoToMicros(s.ts);
    if (Number.isFinite(us)) oldest = Math.min(oldest, Math.floor(us / 1000) - 60_000);
  }
  return oldest;
}
