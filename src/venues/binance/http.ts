// The signed Binance REST client: I/O only. It keeps the venue's clock offset (measured at start,
// measured again on a -1021 timestamp refusal, whose request is then sent once more: it was not
// acted on), stays under the published rate limits by reading the X-MBX-* headers, waits out a
// 429's Retry-After before sending anything else, and after a 418 (IP banned) sends nothing until
// resume().
import { setTimeout as sleep } from 'node:timers/promises';
import { header, NoAnswer, VenueHttp, type HttpReply } from '../transport.js';
import { parseError, type RateLimit, type RawError } from './parse.js';
import { encodeParams, type Param } from './signing.js';

/** The venue banned this IP (HTTP 418): nothing may be sent until an operator resumes. */
export class VenueHalted extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'VenueHalted';
  }
}

export type RestResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: RawError };

export interface RestOptions {
  url: string;
  apiKey: string;
  /** Signs a payload with the secret (kept in the caller's closure). */
  sign: (payload: string) => string;
  timeoutMs?: number;
  recvWindowMs?: number;
  /** 429s in a row before giving up on a request (it was never acted on). */
  max429?: number;
}

export interface CallOptions {
  signed?: boolean;
  /** Request weight, to stay under REQUEST_WEIGHT (as documented per endpoint). */
  weight?: number;
  /** Counts toward the ORDERS limits. */
  order?: boolean;
}

interface Usage {
  limit: RateLimit;
  used: number;
  /** Venue time (ms) when `used` was read. */
  at: number;
}

// Until exchangeInfo says otherwise: Binance spot's published limits.
const DEFAULT_LIMITS: RateLimit[] = [
  { kind: 'REQUEST_WEIGHT', header: 'x-mbx-used-weight-1m', window_ms: 60_000, limit: 6000 },
  { kind: 'ORDERS', header: 'x-mbx-order-count-10s', window_ms: 10_000, limit: 100 },
  { kind: 'ORDERS', header: 'x-mbx-order-count-1d', window_ms: 86_400_000, limit: 200_000 },
];

export class BinanceRest {
  private readonly http: VenueHttp;
  private offset = 0;
  private usage: Usage[] = DEFAULT_LIMITS.map((limit) => ({ limit, used: 0, at: 0 }));
  private backoffUntil = 0;
  private halt: string | undefined;

  constructor(private readonly o: RestOptions) {
    this.http = new VenueHttp({ url: o.url, timeoutMs: o.timeoutMs });
  }

  /** Venue clock minus local clock, ms. */
  get clockOffsetMs(): number {
    return this.offset;
  }

  /** The venue's clock as we know it. */
  venueNow(): number {
    return Date.now() + this.offset;
  }

  get halted(): string | undefined {
    return this.halt;
  }

  get backoffUntilMs(): number | undefined {
    return this.backoffUntil > Date.now() ? this.backoffUntil : undefined;
  }

  resume(): void {
    this.halt = undefined;
    this.backoffUntil = 0;
  }

  setLimits(limits: RateLimit[]): void {
    if (limits.length > 0) this.usage = limits.map((limit) => ({ limit, used: 0, at: 0 }));
  }

  /** Fraction of the tightest limit still free in its current window. */
  headroom(): number {
    const now = this.venueNow();
    let min = 1;
    for (const u of this.usage) {
      const used = sameWindow(u.at, now, u.limit.window_ms) ? u.used : 0;
      min = Math.min(min, Math.max(0, 1 - used / u.limit.limit));
    }
    return min;
  }

  /** Measure the offset from GET /api/v3/time (half the round trip counted as transit). */
  async syncClock(): Promise<number> {
    const before = Date.now();
    const r = await this.call<{ serverTime: number }>('GET', '/api/v3/time', {}, { weight: 1 });
    if (!r.ok) throw new Error(`Binance time: ${r.error.code} ${r.error.msg}`);
    const after = Date.now();
    this.offset = r.body.serverTime - Math.round((before + after) / 2);
    return this.offset;
  }

  /**
   * One request. Venue refusals come back as { ok: false }; NoAnswer is thrown for no answer (its
   * outcome unknown), VenueHalted for a ban.
   */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, params: Record<string, Param>, opts: CallOptions = {}): Promise<RestResult<T>> {
    let resynced = false;
    for (let tries429 = 0; ;) {
      const reply = await this.send(method, path, params, opts);
      if (reply.status === 418) {
        const after = retryAfterMs(reply);
        const err = parseError(reply.text);
        this.halt = `Binance 418: IP banned${err ? ` (${err.code} ${err.msg})` : ''}`;
        throw new VenueHalted(this.halt, after);
      }
      if (reply.status === 429) {
        this.backoffUntil = Date.now() + (retryAfterMs(reply) ?? 1_000);
        if (++tries429 > (this.o.max429 ?? 5)) {
          const err = parseError(reply.text) ?? { code: -1003, msg: 'Too many requests.' };
          return { ok: false, status: 429, error: err };
        }
        continue; // a 429 was not acted on: send again once Retry-After has passed
      }
      const err = reply.status >= 400 ? parseError(reply.text) : undefined;
      if (err?.code === -1021 && opts.signed && !resynced) {
        resynced = true;
        await this.syncClock();
        continue;
      }
      if (reply.status >= 400) return { ok: false, status: reply.status, error: err ?? { code: reply.status, msg: `HTTP ${reply.status}: ${reply.text.slice(0, 200)}` } };
      try {
        return { ok: true, status: reply.status, body: JSON.parse(reply.text) as T };
      } catch (e) {
        throw new NoAnswer(`${method} ${path}: reply is not JSON (${(e as Error).message})`);
      }
    }
  }

  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, params: Record<string, Param>, opts: CallOptions): Promise<HttpReply> {
    await this.gate(opts);
    let query = encodeParams(params);
    const headers: Record<string, string> = { 'x-mbx-apikey': this.o.apiKey };
    if (opts.signed) {
      const signed = encodeParams({ ...params, recvWindow: this.o.recvWindowMs ?? 5_000, timestamp: this.venueNow() });
      query = `${signed}&signature=${this.o.sign(signed)}`;
    }
    const reply = await this.http.request({ method, path: query ? `${path}?${query}` : path, headers });
    this.readUsage(reply);
    return reply;
  }

  /** Wait out a 429's Retry-After and any limit used up in its window; refuse while halted. */
  private async gate(opts: CallOptions): Promise<void> {
    for (;;) {
      if (this.halt) throw new VenueHalted(`${this.halt}: nothing is sent until an operator resumes the venue`);
      let wait = this.backoffUntil - Date.now();
      const now = this.venueNow();
      for (const u of this.usage) {
        if (!sameWindow(u.at, now, u.limit.window_ms)) continue;
        const need = u.limit.kind === 'ORDERS' ? (opts.order ? 1 : 0) : (opts.weight ?? 1);
        if (need > 0 && u.used + need > u.limit.limit) wait = Math.max(wait, windowEnd(now, u.limit.window_ms) - now);
      }
      if (wait <= 0) return;
      await sleep(wait);
    }
  }

  private readUsage(reply: HttpReply): void {
    const now = this.venueNow();
    for (const u of this.usage) {
      const v = header(reply.headers, u.limit.header);
      if (v === undefined) continue;
      const n = Number(v);
      if (Number.isFinite(n)) {
        u.used = n;
        u.at = now;
      }
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

function retryAfterMs(reply: HttpReply): number | undefined {
  const v = header(reply.headers, 'retry-after');
  const s = v === undefined ? NaN : Number(v);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

// Binance's windows are fixed intervals of the venue clock (a minute, 10 s, a UTC day).
const windowEnd = (t: number, w: number): number => Math.floor(t / w) * w + w;
const sameWindow = (a: number, b: number, w: number): boolean => Math.floor(a / w) === Math.floor(b / w);
