// A KuCoin spot (HF) venue on loopback: its REST paths, field names, v2 signature check, 5 s
// timestamp window, gw-ratelimit-* headers and error codes, and its private WebSocket (bullet
// token, welcome, ping/pong, subscribe + ack, orderChange V2 pushes), over the shared exchange.
// clientOid rule: KuCoin asks for a unique clientOid per order and refuses a reused one (126044,
// "clientOid duplicate"), whether the first order is open or closed ('never').
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { handleAdmin, listenEmulator, NO_FAULTS, type EmulatorBaseOptions, readBody, type FaultSwitches } from '../emulator/admin.js';
import { EmulatedExchange, isClosed, Refusal } from '../emulator/exchange.js';
import { KucoinLedger, refusalError } from './emulator-venue.js';
import { routeRest, type Reply } from './emulator-routes.js';
import { sameSignature, signPassphrase, signRequest } from './signing.js';

export interface KucoinEmulatorOptions extends EmulatorBaseOptions {
  /** What GET /api/v1/user/api-key reports (default "General,Spot"). */
  permission?: string;
  /** Requests per 30 s window of the private (per key) and public pools (defaults 4000 and 2000, VIP0). */
  privateLimit?: number;
  publicLimit?: number;
  /** The pools' window, ms (KuCoin: 30 s). */
  rateWindowMs?: number;
}

/** One request as the emulator received it (admin calls excluded). */
export interface EmulatorRequest {
  method: string;
  path: string;
  at_ms: number;
  status?: number;
}

export interface KucoinEmulator {
  url: string;
  wsUrl: string;
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  /** Every venue request received, in order: tests check what was (not) sent when. */
  requests: EmulatorRequest[];
  close(): Promise<void>;
}

const PUBLIC = [/^\/api\/v1\/timestamp$/, /^\/api\/v2\/symbols/, /^\/api\/v1\/market\//, /^\/api\/v3\/currencies/, /^\/api\/v1\/status$/];
const ORDER_TOPIC = '/spotMarket/tradeOrdersV2';

export async function startKucoinEmulator(o: KucoinEmulatorOptions): Promise<KucoinEmulator> {
  const faults: FaultSwitches = { ...NO_FAULTS, ...o.faults };
  const now = () => Date.now() + faults.clock_skew_ms;
  const exchange = new EmulatedExchange({
    venue: 'KUCOIN',
    market: o.market,
    clientIdRule: 'never',
    now,
    balances: o.balances,
    feeIn: 'quote',
    balanceLagMs: () => faults.balance_lag_ms,
  });
  const ledger = new KucoinLedger(exchange);
  const requests: EmulatorRequest[] = [];
  const tokens = new Set<string>();
  const sockets = new Set<WebSocket>();
  const subscribed = new WeakSet<WebSocket>();
  const pools = new Map<string, { start: number; used: number }>();
  const windowMs = o.rateWindowMs ?? 30_000;

  // Pushes, with the stream faults applied: muted, trades twice, or held and released reversed.
  let held: string[] = [];
  let holdTimer: NodeJS.Timeout | undefined;
  const deliver = (text: string) => {
    for (const s of sockets) if (subscribed.has(s) && s.readyState === s.OPEN) s.send(text);
  };
  const push = (data: Record<string, unknown>, trade: boolean) => {
    if (faults.mute_user_stream) return;
    const text = JSON.stringify({ type: 'message', topic: ORDER_TOPIC, subject: 'orderChange', channelType: 'private', userId: 'emulator', data });
    const copies = trade && faults.duplicate_fills ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (faults.late_reports_ms > 0) {
        held.push(text);
        holdTimer ??= setTimeout(() => {
          const out = held.reverse();
          held = [];
          holdTimer = undefined;
          for (const t of out) deliver(t);
        }, faults.late_reports_ms);
      } else deliver(text);
    }
  };
  exchange.onEvent((e) => {
    for (const c of ledger.orderChanges(e)) push(c.data, c.trade);
  });

  const send = (res: ServerResponse, r: Reply, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(r.body);
    res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  };
  const fail = (status: number, code: string, msg: string): Reply => ({ status, body: { code, msg } });

  const authenticate = (req: IncomingMessage, path: string, body: string): Reply | undefined => {
    const h = (n: string) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const key = h('kc-api-key');
    const sign = h('kc-api-sign');
    const ts = h('kc-api-timestamp');
    const pass = h('kc-api-passphrase');
    if (!key || !sign || !ts || !pass) return fail(401, '400001', 'Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE');
    if (key !== o.apiKey) return fail(401, '400003', 'KC-API-KEY not exists');
    const t = Number(ts);
    if (!Number.isFinite(t) || Math.abs(t - now()) >= 5_000) return fail(401, '400002', 'KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds');
    if (!sameSignature(sign, signRequest(o.apiSecret, ts, req.method ?? 'GET', path, body))) return fail(401, '400005', 'Signature error');
    if (o.passphrase !== undefined) {
      const want = h('kc-api-key-version') === '1' ? o.passphrase : signPassphrase(o.apiSecret, o.passphrase);
      if (!sameSignature(pass, want)) return fail(401, '400004', 'KC-API-PASSPHRASE error');
    }
    return undefined;
  };

  /** KuCoin's rate-limit headers for the request's pool, and whether the pool is used up. */
  const meter = (pool: string, limit: number): { headers: Record<string, string>; over: boolean } => {
    const t = Date.now();
    let p = pools.get(pool);
    if (!p || t - p.start >= windowMs) pools.set(pool, (p = { start: t, used: 0 }));
    p.used++;
    const reset = String(p.start + windowMs - t);
    return { headers: { 'gw-ratelimit-limit': String(limit), 'gw-ratelimit-remaining': String(Math.max(0, limit - p.used)), 'gw-ratelimit-reset': reset }, over: p.used > limit };
  };

  const server = createServer((req, res) => {
    void (async () => {
      if (await handleAdmin(req, res, { exchange, faults, dropStreams: () => sockets.forEach((s) => s.terminate()) })) return;
      const path = req.url ?? '/';
      const entry: EmulatorRequest = { method: req.method ?? 'GET', path, at_ms: Date.now() };
      requests.push(entry);
      const body = await readBody(req);
      const answer = async (r: Reply, headers: Record<string, string> = {}) => {
        if (faults.latency_ms > 0) await new Promise((ok) => setTimeout(ok, faults.latency_ms));
        entry.status = r.status;
        send(res, r, headers);
      };
      if (faults.http_418) return answer(fail(418, '418000', 'IP banned (emulator switch; KuCoin itself has no 418)'));
      if (faults.http_429 > 0) {
        const secs = faults.http_429--;
        return answer(fail(429, '429000', 'Too Many Requests'), {
          'retry-after': String(secs),
          'gw-ratelimit-limit': '4000',
          'gw-ratelimit-remaining': '0',
          'gw-ratelimit-reset': String(secs * 1000),
        });
      }
      const bare = path.split('?')[0];
      const isPublic = PUBLIC.some((r) => r.test(bare));
      const limit = meter(
        isPublic ? 'public' : `key:${String(req.headers['kc-api-key'])}`,
        (isPublic ? (o.publicLimit ?? 2000) : (o.privateLimit ?? 4000)) * (o.limitsMultiplier ?? 1),
      );
      if (limit.over) return answer(fail(429, '429000', 'Too Many Requests'), limit.headers);
      if (!isPublic) {
        const refused = authenticate(req, path, body);
        if (refused) return answer(refused, limit.headers);
      }
      const placing = req.method === 'POST' && bare === '/api/v1/hf/orders';
      if (placing && faults.http_5xx > 0) {
        faults.http_5xx--;
        return answer({ status: 503, body: { code: '503000', msg: 'Service Unavailable' } }, limit.headers);
      }
      let reply: Reply;
      try {
        reply = routeRest({ method: req.method ?? 'GET', path, body, exchange, ledger, now, permission: o.permission ?? 'General,Spot', apiKey: o.apiKey, wsUrl, issueToken });
      } catch (e) {
        if (e instanceof Refusal) {
          const [status, code, msg] = refusalError(e.code, e.message);
          reply = fail(status, code, msg);
        } else reply = fail(400, '400100', e instanceof Error ? e.message : String(e));
      }
      // KuCoin refuses some orders with HTTP 200 and its own code: only code 200000 placed one.
      const placed = placing && reply.status === 200 && (reply.body as { code?: string }).code === '200000';
      if (placed && faults.timeout_after_accept > 0) {
        // The order exists; the reply never comes: the connection hangs, then is cut.
        faults.timeout_after_accept--;
        entry.status = 0;
        setTimeout(() => req.socket.destroy(), 200).unref();
        return;
      }
      if (placed) {
        const order = exchange.get({ client_order_id: (JSON.parse(body) as { clientOid: string }).clientOid });
        if (order && !isClosed(order) && order.type !== 'MARKET') push(ledger.openChange(order), false);
      }
      return answer(reply, limit.headers);
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, fail(500, '500000', e instanceof Error ? e.message : String(e)));
    });
  });

  const issueToken = () => {
    const t = randomBytes(24).toString('base64url');
    tokens.add(t);
    return t;
  };

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const u = new URL(req.url ?? '/', 'http://emulator');
      const connectId = u.searchParams.get('connectId') ?? 'welcome';
      if (!tokens.has(u.searchParams.get('token') ?? '')) {
        ws.send(JSON.stringify({ id: connectId, type: 'error', code: 401, data: 'token is invalid' }));
        ws.close();
        return;
      }
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      ws.on('message', (raw: Buffer) => {
        let m: { id?: string; type?: string; topic?: string; response?: boolean; privateChannel?: boolean };
        try {
          m = JSON.parse(raw.toString('utf8')) as typeof m;
        } catch {
          return;
        }
        if (m.type === 'ping') ws.send(JSON.stringify({ id: m.id, type: 'pong', timestamp: now() * 1000 }));
        else if (m.type === 'subscribe') {
          if (m.topic !== ORDER_TOPIC) {
            ws.send(JSON.stringify({ id: m.id, type: 'error', code: 404, data: `topic ${String(m.topic)} is not supported by the emulator` }));
            return;
          }
          subscribed.add(ws);
          if (m.response) ws.send(JSON.stringify({ id: m.id, type: 'ack' }));
        } else if (m.type === 'unsubscribe') {
          subscribed.delete(ws);
          if (m.response) ws.send(JSON.stringify({ id: m.id, type: 'ack' }));
        }
      });
      ws.send(JSON.stringify({ id: connectId, type: 'welcome' }));
    });
  });

  const { url, hostPort } = await listenEmulator(server, o);
  const wsUrl = `ws://${hostPort}/`;

  return {
    url,
    wsUrl,
    exchange,
    faults,
    requests,
    async close() {
      clearTimeout(holdTimer);
      for (const s of sockets) s.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
