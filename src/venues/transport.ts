// I/O shared by the venue adapters: keep-alive HTTP (undici) and a user-data WebSocket (ws) that
// reconnects by itself. No venue logic here: signing, paths and parsing live in each venue folder.
import { Pool, errors as undiciErrors } from 'undici';
import WebSocket from 'ws';

/** The venue gave no answer (timeout, connection refused or lost, 5xx): the request may or may not have been acted on. */
export class NoAnswer extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NoAnswer';
  }
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  /** Path with its query string, e.g. /api/v3/order?symbol=BTCUSDT&… */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface VenueHttpOptions {
  /** Base URL: scheme, host and port (a path prefix is kept). */
  url: string;
  /** No reply within this many ms: NoAnswer (default 5,000). */
  timeoutMs?: number;
  /** Keep-alive connections (default 16). */
  connections?: number;
}

export class VenueHttp {
  private readonly pool: Pool;
  private readonly prefix: string;
  readonly origin: string;
  private readonly timeoutMs: number;

  constructor(o: VenueHttpOptions) {
    const u = new URL(o.url);
    this.origin = u.origin;
    this.prefix = u.pathname.replace(/\/$/, '');
    this.timeoutMs = o.timeoutMs ?? 5_000;
    this.pool = new Pool(u.origin, { connections: o.connections ?? 16, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  /** One request; NoAnswer for a timeout, a connection failure, or a 5xx. Other statuses come back as replies. */
  async request(r: HttpRequest): Promise<HttpReply> {
    let reply;
    try {
      reply = await this.pool.request({
        method: r.method,
        path: this.prefix + r.path,
        headers: r.headers,
        body: r.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (e) {
      const why = e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError ? `no reply within ${this.timeoutMs} ms` : (e as Error).message;
      throw new NoAnswer(`${r.method} ${r.path.split('?')[0]}: ${why}`, { cause: e });
    }
    let text: string;
    try {
      text = await reply.body.text();
    } catch (e) {
      throw new NoAnswer(`${r.method} ${r.path.split('?')[0]}: reply cut off (${(e as Error).message})`, { cause: e });
    }
    if (reply.statusCode >= 500) throw new NoAnswer(`${r.method} ${r.path.split('?')[0]}: HTTP ${reply.statusCode} ${text.slice(0, 200)}`);
    return { status: reply.statusCode, headers: reply.headers, text };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** A header's value as one string. */
export function header(h: HttpReply['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export interface StreamOptions {
  /** Where to connect; called on every (re)connect, as some venues hand out a fresh URL or token each time. */
  url: () => Promise<string> | string;
  /** After the socket opens: log in and subscribe. Resolve once the stream is live; throw to reconnect. */
  onOpen: (socket: WebSocket) => Promise<void>;
  onMessage: (text: string) => void;
  onStatus?: (connected: boolean, reason?: string) => void;
  /** Application ping (some venues want their own, e.g. OKX "ping" text); default a WebSocket ping. */
  ping?: (socket: WebSocket) => void;
  pingEveryMs?: number;
  /** Longest wait between reconnect attempts (default 5,000 ms). */
  maxBackoffMs?: number;
}

/**
 * A user-data stream that stays up: on close or error it reconnects with a growing backoff, logs in
 * and subscribes again. What was pushed while it was down is found by the gateway's queries.
 */
export class ReconnectingStream {
  private socket: WebSocket | undefined;
  private closed = false;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private live = false;

  constructor(private readonly o: StreamOptions) {}

  start(): void {
    void this.connect();
  }

  get connected(): boolean {
    return this.live;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let url: string;
    try {
      url = await this.o.url();
    } catch (e) {
      this.retry(`cannot get the stream URL: ${(e as Error).message}`);
      return;
    }
    if (this.closed) return;
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    this.socket = socket;
    let gone = false;
    const drop = (reason: string) => {
      if (gone) return;
      gone = true;
      clearInterval(this.pinger);
      if (this.live) this.o.onStatus?.(false, reason);
      this.live = false;
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
      this.retry(reason);
    };
    socket.on('message', (data: WebSocket.RawData) => this.o.onMessage(rawText(data)));
    socket.on('close', (code, why) => drop(`closed (${code}${why.length ? ` ${why.toString()}` : ''})`));
    socket.on('error', (e) => drop(e.message));
    socket.once('open', () => {
      this.o
        .onOpen(socket)
        .then(() => {
          if (gone) return;
          this.attempts = 0;
          this.live = true;
          this.o.onStatus?.(true);
          const every = this.o.pingEveryMs ?? 15_000;
          this.pinger = setInterval(() => (this.o.ping ? this.o.ping(socket) : socket.ping()), every);
          this.pinger.unref();
        })
        .catch((e: unknown) => drop(`login or subscribe failed: ${(e as Error).message}`));
    });
  }

  private retry(reason: string): void {
    if (this.closed) return;
    const delay = Math.min(this.o.maxBackoffMs ?? 5_000, 50 * 2 ** this.attempts++);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
    void reason;
  }

  /** Send on the live socket (false when there is none). */
  send(text: string): boolean {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(text);
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.live = false;
    this.socket?.removeAllListeners();
    this.socket?.on('error', () => undefined);
    this.socket?.terminate();
  }
}

/** Wait for one message on a socket that satisfies `match`, up to `ms`. */
export function nextMessage<T>(socket: WebSocket, match: (text: string) => T | undefined, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', on);
      reject(new Error(`no answer on the stream within ${ms} ms`));
    }, ms);
    const on = (data: WebSocket.RawData) => {
      const hit = match(rawText(data));
      if (hit === undefined) return;
      clearTimeout(timer);
      socket.off('message', on);
      resolve(hit);
    };
    socket.on('message', on);
  });
}

/** A WebSocket message's text, whatever shape ws handed it over in. */
export function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/**
 * A Map that forgets its oldest entries past `cap`: what an adapter remembers of its orders (ids
 * seen on the venue) is a cache, and a gateway that runs for months must not grow without end.
 * Anything forgotten is found again by asking the venue.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly cap = 100_000) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.cap) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
