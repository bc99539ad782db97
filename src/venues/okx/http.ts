// The signed OKX REST client: I/O only. Keeps the venue clock offset (measured at start, measured
// again on a timestamp refusal, then that request is sent once more: it was refused, not acted
// on), stays under OKX's documented per-endpoint limits with a local limiter (OKX sends no
// used-weight headers), waits out a 429 before sending anything else, and after a 418 sends
// nothing at all until resume().
import { setTimeout as sleep } from 'node:timers/promises';
import { header, NoAnswer, VenueHttp } from '../transport.js';
import type { OkxCredentials } from './config.js';
import { OkxProtocolError, parseReply, serverTimeOf, type OkxReply } from './parse.js';
import { okxTimestamp, signRest } from './signing.js';

/** OKX refused to serve us (HTTP 418, an IP ban): nothing was acted on, nothing more is sent until resume(). */
export class OkxHalted extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'OkxHalted';
  }
}

/** OKX's documented REST limits (requests per 2 s; trade endpoints per instrument). */
export const OKX_LIMITS: Record<string, number> = {
  'POST /api/v5/trade/order': 60,
  'POST /api/v5/trade/cancel-order': 60,
  'POST /api/v5/trade/amend-order': 60,
  'GET /api/v5/trade/order': 60,
  'GET /api/v5/trade/orders-pending': 60,
  'GET /api/v5/trade/fills': 60,
  'GET /api/v5/trade/fills-history': 10,
  'GET /api/v5/account/config': 5,
  'GET /api/v5/account/balance': 10,
  'GET /api/v5/public/time': 10,
  'GET /api/v5/public/instruments': 20,
};
const WINDOW_MS = 2_000;
/** A 429 without Retry-After: wait one limit window. */
const DEFAULT_RETRY_AFTER_MS = 2_000;
const MAX_RATE_LIMITED = 5;

/** Sliding-window counts per endpoint (and instrument): waits for a free slot instead of sending into a refusal. */
export class OkxRateLimiter {
  private readonly sent = new Map<string, { limit: number; at: number[] }>();

  constructor(private readonly now: () => number = Date.now) {}

  private bucket(key: string, limit: number) {
    let b = this.sent.get(key);
    if (!b) this.sent.set(key, (b = { limit, at: [] }));
    const since = this.now() - WINDOW_MS;
    while (b.at.length && b.at[0] <= since) b.at.shift();
    return b;
  }

  /** Resolves when one more request fits under the limit, and counts it. */
  async take(key: string, limit: number): Promise<void> {
    for (;;) {
      const b = this.bucket(key, limit);
      if (b.at.length < b.limit) {
        b.at.push(this.now());
        return;
      }
      await sleep(Math.max(1, b.at[0] + WINDOW_MS - this.now() + 1));
    }
  }

  /** Fraction of the tightest limit still free (1 = nothing used). */
  headroom(): number {
    let min = 1;
    for (const [key, b] of this.sent) min = Math.min(min, 1 - this.bucket(key, b.limit).at.length / b.limit);
    return min;
  }
}

export interface OkxRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Private endpoints are signed. */
  signed: boolean;
  /** Rate-limit key beyond the endpoint (trade endpoints count per instrument). */
  instId?: string;
}

export interface OkxRestOptions {
  url: string;
  credentials: OkxCredentials;
  /** Demo trading: every request carries x-simulated-trading: 1. */
  demo: boolean;
  timeoutMs?: number;
  /** OKX's published limits times this (default 1). */
  limitMultiplier?: number;
}

export class OkxRest {
  private readonly http: VenueHttp;
  /** Venue clock minus local clock, ms. */
  offsetMs = 0;
  halted: string | undefined;
  backoffUntilMs = 0;
  readonly limiter = new OkxRateLimiter();

  constructor(private readonly o: OkxRestOptions) {
    this.http = new VenueHttp({ url: o.url, timeoutMs: o.timeoutMs ?? 5_000 });
  }

  get credentials(): OkxCredentials {
    return this.o.credentials;
  }

  get origin(): string {
    return this.http.origin;
  }

  /** Venue time now, epoch ms, as far as we know it. */
  venueNow(): number {
    return Date.now() + this.offsetMs;
  }

  /** Measures the offset against GET /api/v5/public/time (half the round trip taken as the transit). */
  async syncClock(): Promise<number> {
    const sentAt = Date.now();
    const r = await this.send({ method: 'GET', path: '/api/v5/public/time', signed: false }, false);
    const receivedAt = Date.now();
    this.offsetMs = Math.round(serverTimeOf(r.reply as OkxReply<{ ts?: string }>) - (sentAt + receivedAt) / 2);
    return this.offsetMs;
  }

  resume(): void {
    this.halted = undefined;
  }

  /**
   * One request, with OKX's reply envelope. Throws NoAnswer (no reply, 5xx, or still rate limited
   * after several waits), OkxHalted (418), or OkxProtocolError (not OKX's JSON).
   */
  async request<T = unknown>(r: OkxRequest): Promise<{ status: number; reply: OkxReply<T> }> {
    const first = await this.send(r, true);
    return first as { status: number; reply: OkxReply<T> };
  }

  private async send(r: OkxRequest, resyncOnTimestamp: boolean): Promise<{ status: number; reply: OkxReply }> {
    const query = Object.entries(r.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
    const requestPath = r.path + (query.length ? `?${new URLSearchParams(query).toString()}` : '');
    const body = r.body === undefined ? '' : JSON.stringify(r.body);
    const endpoint = `${r.method} ${r.path}`;
    for (let limited = 0; ; limited++) {
      if (this.halted) throw new OkxHalted(`OKX halted: ${this.halted}`);
      const wait = this.backoffUntilMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.halted) throw new OkxHalted(`OKX halted: ${this.halted}`);
      await this.limiter.take(r.instId ? `${endpoint} ${r.instId}` : endpoint, (OKX_LIMITS[endpoint] ?? 10) * (this.o.limitMultiplier ?? 1));

      const headers: Record<string, string> = { accept: 'application/json' };
      if (body) headers['content-type'] = 'application/json';
      if (this.o.demo) headers['x-simulated-trading'] = '1';
      if (r.signed) {
        const ts = okxTimestamp(this.venueNow());
        const { secret, passphrase } = this.o.credentials.reveal();
        headers['OK-ACCESS-KEY'] = this.o.credentials.api_key;
        headers['OK-ACCESS-PASSPHRASE'] = passphrase;
        headers['OK-ACCESS-TIMESTAMP'] = ts;
        headers['OK-ACCESS-SIGN'] = signRest(secret, ts, r.method, requestPath, body);
      }
      const reply = await this.http.request({ method: r.method, path: requestPath, headers, body: body || undefined });

      if (reply.status === 418) {
        const after = Number(header(reply.headers, 'retry-after'));
        this.halted = `HTTP 418 on ${endpoint}: ${reply.text.slice(0, 120)}`;
        throw new OkxHalted(`OKX halted: ${this.halted}`, Number.isFinite(after) && after > 0 ? after * 1000 : undefined);
      }
      let parsed: OkxReply | undefined;
      try {
        parsed = parseReply(reply.text);
      } catch (e) {
        if (reply.status !== 429) throw e instanceof OkxProtocolError ? new OkxProtocolError(`${endpoint} HTTP ${reply.status}: ${e.message}`) : e;
      }
      if (reply.status === 429 || parsed?.code === '50011') {
        // Not acted on: wait what OKX asks (or one limit window), sending nothing meanwhile, then again.
        const after = Number(header(reply.headers, 'retry-after'));
        this.backoffUntilMs = Date.now() + (Number.isFinite(after) && after > 0 ? after * 1000 : DEFAULT_RETRY_AFTER_MS);
        if (limited + 1 >= MAX_RATE_LIMITED) throw new NoAnswer(`${endpoint}: still rate limited after ${MAX_RATE_LIMITED} waits`);
        continue;
      }
      if (resyncOnTimestamp && (parsed!.code === '50102' || parsed!.code === '50112')) {
        // Refused for its timestamp, so not acted on: measure the clock again and send once more.
        await this.syncClock();
        return this.send(r, false);
      }
      return { status: reply.status, reply: parsed! };
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
