// The Binance user-data stream over the WebSocket API: I/O only. On every (re)connect it
// subscribes with userDataStream.subscribe.signature (HMAC over apiKey and timestamp); pushes
// arrive as {subscriptionId, event} frames and go through parse.ts. The listenKey flow is
// deprecated at Binance and not used.
import type WebSocket from 'ws';
import { nextMessage, ReconnectingStream } from '../transport.js';
import type { VenueMessage } from '../types.js';
import { parseStreamFrame, type RawError } from './parse.js';

export interface UserStreamOptions {
  url: string;
  apiKey: string;
  /** Signs the sorted params payload with the secret (kept in the caller's closure). */
  signParams: (params: Record<string, string | number>) => string;
  /** The venue's clock (local + measured offset). */
  venueNow: () => number;
  /** The venue refused the subscription for its clock (-1021): measure the offset again. */
  resyncClock: () => Promise<unknown>;
  recvWindowMs?: number;
  onReports: (m: VenueMessage[]) => void;
  onStatus?: (connected: boolean, reason?: string) => void;
  pingEveryMs?: number;
}

export class BinanceUserStream {
  private readonly stream: ReconnectingStream;
  private requestId = 0;

  constructor(private readonly o: UserStreamOptions) {
    this.stream = new ReconnectingStream({
      url: () => o.url,
      onOpen: (socket) => this.subscribe(socket),
      onMessage: (text) => {
        const frame = parseStreamFrame(text);
        if (frame.kind === 'event' && frame.messages.length > 0) o.onReports(frame.messages);
      },
      onStatus: o.onStatus,
      pingEveryMs: o.pingEveryMs,
    });
  }

  start(): void {
    this.stream.start();
  }

  get connected(): boolean {
    return this.stream.connected;
  }

  private async subscribe(socket: WebSocket): Promise<void> {
    const id = `sub-${++this.requestId}`;
    const params: Record<string, string | number> = { apiKey: this.o.apiKey, recvWindow: this.o.recvWindowMs ?? 5_000, timestamp: this.o.venueNow() };
    const request = { id, method: 'userDataStream.subscribe.signature', params: { ...params, signature: this.o.signParams(params) } };
    const reply = nextMessage(socket, (text) => {
      const f = parseStreamFrame(text);
      return f.kind === 'reply' && f.id === id ? f : undefined;
    });
    socket.send(JSON.stringify(request));
    const r = await reply;
    if (r.status !== 200) {
      const e: RawError = r.error ?? { code: r.status, msg: 'no error text' };
      if (e.code === -1021) await this.o.resyncClock();
      throw new Error(`Binance user-data subscription refused: ${e.code} ${e.msg}`);
    }
  }

  close(): void {
    this.stream.close();
  }
}
