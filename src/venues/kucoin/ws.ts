// KuCoin's private stream: I/O only. Each (re)connect fetches a fresh token (POST
// /api/v1/bullet-private), waits for the welcome, subscribes to /spotMarket/tradeOrdersV2 and waits
// for its ack; the venue's own {"type":"ping"} keeps it up. Frames go to `onFrame` as text.
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { nextMessage, ReconnectingStream } from '../transport.js';
import type { KucoinRest } from './http.js';

interface Bullet {
  token: string;
  instanceServers: { endpoint: string; pingInterval: number; pingTimeout: number; protocol: string; encrypt: boolean }[];
}

export const ORDER_TOPIC = '/spotMarket/tradeOrdersV2';

export function startUserStream(o: {
  rest: KucoinRest;
  /** Overrides the bullet's endpoint when set. */
  wsUrl?: string;
  onFrame: (text: string) => void;
  onStatus?: (connected: boolean, reason?: string) => void;
}): ReconnectingStream {
  let seq = 0;
  const id = () => `${Date.now()}${++seq}`;
  const stream = new ReconnectingStream({
    url: async () => {
      const b = await o.rest.must<Bullet>('POST', '/api/v1/bullet-private', {});
      const server = b.instanceServers[0];
      if (!server) throw new Error('KuCoin bullet-private gave no instance server');
      const base = o.wsUrl && o.wsUrl.length > 0 ? o.wsUrl : server.endpoint;
      const u = new URL(base);
      u.searchParams.set('token', b.token);
      u.searchParams.set('connectId', randomUUID());
      return u.toString();
    },
    onOpen: async (socket: WebSocket) => {
      const frame = (text: string) => {
        try {
          return JSON.parse(text) as { id?: string; type?: string; code?: number; data?: unknown };
        } catch {
          return undefined;
        }
      };
      const welcome = await nextMessage(socket, (t) => {
        const f = frame(t);
        return f?.type === 'welcome' || f?.type === 'error' ? f : undefined;
      });
      if (welcome.type === 'error') throw new Error(`KuCoin stream refused: ${String(welcome.code)} ${JSON.stringify(welcome.data)}`);
      const subId = id();
      const acked = nextMessage(socket, (t) => {
        const f = frame(t);
        return f && f.id === subId && (f.type === 'ack' || f.type === 'error') ? f : undefined;
      });
      socket.send(JSON.stringify({ id: subId, type: 'subscribe', topic: ORDER_TOPIC, privateChannel: true, response: true }));
      const ack = await acked;
      if (ack.type === 'error') throw new Error(`KuCoin refused the ${ORDER_TOPIC} subscription: ${String(ack.code)} ${JSON.stringify(ack.data)}`);
    },
    onMessage: o.onFrame,
    onStatus: o.onStatus,
    ping: (socket) => socket.send(JSON.stringify({ id: id(), type: 'ping' })),
    // The bullet's recommended pingInterval is 18 s.
    pingEveryMs: 18_000,
  });
  stream.start();
  return stream;
}
