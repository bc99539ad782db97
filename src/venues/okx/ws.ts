// OKX's private WebSocket (/ws/v5/private), I/O only: log in (signed with the venue's clock),
// subscribe to the SPOT orders channel, keep alive with OKX's text "ping", hand every push to
// parse. ReconnectingStream reconnects and logs in again by itself.
import { nextMessage, ReconnectingStream } from '../transport.js';
import type { VenueMessage } from '../types.js';
import type { OkxCredentials } from './config.js';
import { messagesOfPush, streamEvent } from './parse.js';
import { okxWsTimestamp, signWsLogin } from './signing.js';

export interface OkxStreamOptions {
  url: string;
  credentials: OkxCredentials;
  /** Venue time now, epoch ms (the login timestamp must be within 30 s of OKX's clock). */
  venueNow: () => number;
  onReports: (m: VenueMessage[]) => void;
  onStatus?: (connected: boolean, reason?: string) => void;
  /** Measure the venue clock again (a login refused for its timestamp is retried after it). */
  resyncClock?: () => Promise<unknown>;
}

/** OKX closes a connection silent for 30 s: ping well inside that. */
const PING_EVERY_MS = 20_000;

export function openOkxUserStream(o: OkxStreamOptions): ReconnectingStream {
  const stream = new ReconnectingStream({
    url: () => o.url,
    onOpen: async (socket) => {
      const timestamp = okxWsTimestamp(o.venueNow());
      const { secret, passphrase } = o.credentials.reveal();
      const login = nextMessage(socket, streamEvent);
      socket.send(JSON.stringify({ op: 'login', args: [{ apiKey: o.credentials.api_key, passphrase, timestamp, sign: signWsLogin(secret, timestamp) }] }));
      const answer = await login;
      if (answer.event !== 'login' || answer.code !== '0') {
        // 60004 invalid / 60006 expired timestamp: our idea of OKX's clock is off; measure it before the next try.
        if (answer.code === '60004' || answer.code === '60006') await o.resyncClock?.().catch(() => undefined);
        throw new Error(`OKX login refused: ${answer.code ?? '?'} ${answer.msg ?? ''}`.trim());
      }
      const subscribed = nextMessage(socket, streamEvent);
      socket.send(JSON.stringify({ op: 'subscribe', args: [{ channel: 'orders', instType: 'SPOT' }] }));
      const sub = await subscribed;
      if (sub.event !== 'subscribe') throw new Error(`OKX subscribe refused: ${sub.code ?? '?'} ${sub.msg ?? ''}`.trim());
    },
    onMessage: (text) => {
      const reports = messagesOfPush(text);
      if (reports.length) o.onReports(reports);
    },
    onStatus: o.onStatus,
    ping: (socket) => socket.send('ping'),
    pingEveryMs: PING_EVERY_MS,
  });
  stream.start();
  return stream;
}
