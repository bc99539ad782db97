// The signed KuCoin REST client: I/O only. Keeps the venue's clock offset, reads the gw-ratelimit-*
// headers and stays under them, waits out a 429 before sending anything else, and after a 418 (or
// a ban) sends nothing until resume().
import { setTimeout as sleep } from 'node:timers/promises';
import { header, NoAnswer, VenueHttp, type HttpReply } from '../transport.js';
import type { KucoinConfig } from './config.js';
import { explainError, OK_CODE, parseEnvelope } from './parse.js';
import { authHeaders } from './signing.js';

/** The venue refused to serve us (418 or a ban): nothing was acted on; nothing more is sent until resume(). */
export class VenueHalted extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'VenueHalted';
  }
}

/** A KuCoin error reply (code other than 200000): the venue answered and refused. */
export class KucoinApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly msg: string,
  ) {
    super(`${explainError(code, msg)} (HTTP ${status})`);
    this.name = 'KucoinApiError';
  }
}

export type KucoinResult<T> = { ok: true; data: T; status: number } | { ok: false; code: string; msg: string; status: number };

interface Pool {
  limit: number;
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
}

/** 429s in a row before the request is given up (as not acted on). */
const MAX_429 = 5;

export class KucoinRest {
  private readonly http: VenueHttp;
  /** Venue clock minus local clock, ms. */
  offsetMs = 0;
  halted: string | undefined;
  backoffUntil = 0;
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly cfg: KucoinConfig) {
    this.http = new VenueHttp({ url: cfg.rest_url, timeoutMs: cfg.timeout_ms ?? 5_000 });
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Measure the offset against GET /api/v1/timestamp (the round trip's midpoint). */
  async syncClock(): Promise<number> {
    const t0 = Date.now();
    const r = await this.call<number>('GET', '/api/v1/timestamp', undefined, { signed: false, retryTimestamp: false });
    const t1 = Date.now();
    if (!r.ok) throw new KucoinApiError(r.status, r.code, r.msg);
    this.offsetMs = Math.round(r.data - (t0 + t1) / 2);
    return this.offsetMs;
  }

  /** Fraction of the tightest rate-limit pool still free. */
  headroom(): number {
    let h = 1;
    const now = Date.now();
    for (const p of this.pools.values()) if (p.resetAt > now && p.limit > 0) h = Math.min(h, p.remaining / p.limit);
    return h;
  }

  /**
   * One request; the body's code decides ok. Throws NoAnswer (no reply), VenueHalted (418/ban).
   * A timestamp refusal (400002) resyncs the clock and is sent once more: it was not acted on.
   */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, o: { signed?: boolean; retryTimestamp?: boolean } = {}): Promise<KucoinResult<T>> {
    const signed = o.signed ?? true;
    const text = body === undefined ? '' : JSON.stringify(body);
    let limited = 0;
    for (let resynced = false; ;) {
      await this.gate(signed);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (signed) {
        Object.assign(
          headers,
          authHeaders({ key: this.cfg.api_key, secret: this.cfg.api_secret, passphrase: this.cfg.passphrase, timestampMs: String(this.now()), method, endpoint: path, body: text }),
        );
      }
      const reply = await this.http.request({ method, path, headers, body: text === '' ? undefined : text });
      this.readLimits(signed, reply);
      if (reply.status === 418) {
        this.halted = `KuCoin answered 418 to ${method} ${path.split('?')[0]}: nothing more is sent until resume()`;
        throw new VenueHalted(this.halted, retryAfterMs(reply));
      }
      const env = parseEnvelope(reply.text);
      if (reply.status === 429 || env.code === '429000') {
        const wait = Math.max(retryAfterMs(reply) ?? 0, Number(header(reply.headers, 'gw-ratelimit-reset') ?? 0), 1_000);
        this.backoffUntil = Math.max(this.backoffUntil, Date.now() + wait);
        if (++limited > MAX_429) return { ok: false, code: '429000', msg: env.msg ?? 'too many requests', status: reply.status };
        continue;
      }
      if (env.code === OK_CODE) return { ok: true, data: env.data as T, status: reply.status };
      if (env.code === '400002' && signed && (o.retryTimestamp ?? true) && !resynced) {
        resynced = true;
        await this.syncClock();
        continue;
      }
      return { ok: false, code: env.code, msg: env.msg ?? '', status: reply.status };
    }
  }

  /** Like call, but a refusal throws. */
  async must<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, o?: { signed?: boolean }): Promise<T> {
    const r = await this.call<T>(method, path, body, o);
    if (!r.ok) throw new KucoinApiError(r.status, r.code, r.msg);
    return r.data;
  }

  /** Hold the request while halted, inside a 429's wait, or with its pool used up until the pool resets. */
  private async gate(signed: boolean): Promise<void> {
    for (;;) {
      if (this.halted) throw new VenueHalted(this.halted);
      const now = Date.now();
      let until = this.backoffUntil;
      const pool = this.pools.get(signed ? 'private' : 'public');
      if (pool && pool.remaining <= 0 && pool.resetAt > now) until = Math.max(until, pool.resetAt);
      if (until <= now) return;
      await sleep(until - now);
    }
  }

  private readLimits(signed: boolean, reply: HttpReply): void {
    const limit = Number(header(reply.headers, 'gw-ratelimit-limit'));
    const remaining = Number(header(reply.headers, 'gw-ratelimit-remaining'));
    const reset = Number(header(reply.headers, 'gw-ratelimit-reset'));
    if (!Number.isFinite(limit) || !Number.isFinite(remaining) || !Number.isFinite(reset)) return;
    // A request in flight elsewhere may take one more: keep one in hand.
    this.pools.set(signed ? 'private' : 'public', { limit, remaining: remaining - 1, resetAt: Date.now() + reset });
  }

  resume(): void {
    this.halted = undefined;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

function retryAfterMs(reply: HttpReply): number | undefined {
  const v = header(reply.headers, 'retry-after');
  if (v === undefined) return undefined;
  const s = Number(v);
  return Number.isFinite(s) ? s * 1000 : undefined;
}

export { NoAnswer };
