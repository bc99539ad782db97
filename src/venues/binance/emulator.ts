// A Binance spot emulator that speaks the venue's own protocol: its REST paths, field names,
// HMAC signatures, timestamp window, error codes and HTTP statuses, rate-limit headers, its
// duplicate-client-id rule (refused while an order with the id is open), and the WebSocket API's
// user-data stream. Matching is the shared EmulatedExchange; fault switches come from admin.ts.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { handleAdmin, listenEmulator, NO_FAULTS, type EmulatorBaseOptions, parseFaults, readBody, type FaultSwitches } from '../emulator/admin.js';
import { EmulatedExchange } from '../emulator/exchange.js';
import { type Answer, err, mandatory, type RestRoute, restRoutes } from './emulator-rest.js';
import { signatureMatches, signRest, signWsParams } from './signing.js';
import { executionReport, RATE_LIMITS } from './emulator-wire.js';

export interface BinanceEmulatorOptions extends EmulatorBaseOptions {
  /** What GET /api/v3/account and /sapi/v1/account/apiRestrictions say of the key. */
  permissions?: { can_trade?: boolean; can_withdraw?: boolean };
}

/** One request as the emulator received it (local clock), for tests that count what reached the venue. */
export interface LoggedRequest {
  method: string;
  path: string;
  at_ms: number;
  status?: number;
}

export interface BinanceEmulator {
  url: string;
  wsUrl: string;
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  /** Every REST request received (admin calls excluded), in arrival order. */
  requests: LoggedRequest[];
  close(): Promise<void>;
}

export const WS_API_PATH = '/ws-api/v3';
const newId = (): string => randomBytes(16).toString('base64url').slice(0, 22);

export async function startBinanceEmulator(o: BinanceEmulatorOptions): Promise<BinanceEmulator> {
  const faults: FaultSwitches = parseFaults(o.faults ?? {}, NO_FAULTS);
  const now = () => Date.now() + faults.clock_skew_ms;
  const exchange = new EmulatedExchange({
    venue: 'BINANCE',
    market: o.market,
    clientIdRule: 'while-open',
    now,
    balances: o.balances,
    // Binance books commissions with 8 decimals, as it reports them.
    feeDecimals: 8,
    balanceLagMs: () => faults.balance_lag_ms,
  });
  const requests: LoggedRequest[] = [];
  const sockets = new Set<WebSocket>();
  /** Sockets with a live user-data subscription, and their subscription id. */
  const subscribed = new Map<WebSocket, number>();
  let executionId = 0;
  // The client id a cancel carries (its newClientOrderId, or a generated one) for the push it causes.
  let cancelId = '';

  // --- user-data pushes, with the stream faults applied -----------------------------------------------
  let held: { ws: WebSocket; text: string }[] = [];
  let releaseTimer: NodeJS.Timeout | undefined;
  const push = (ws: WebSocket, text: string) => {
    if (faults.late_reports_ms > 0) {
      held.push({ ws, text });
      // Released together, newest first: the client sees them late and out of order.
      releaseTimer ??= setTimeout(() => {
        const batch = held.reverse();
        held = [];
        releaseTimer = undefined;
        for (const h of batch) if (h.ws.readyState === h.ws.OPEN) h.ws.send(h.text);
      }, faults.late_reports_ms);
      return;
    }
    if (ws.readyState === ws.OPEN) ws.send(text);
  };
  exchange.onEvent((ev) => {
    if (faults.mute_user_stream || ev.kind === 'AMENDED') return;
    const event = executionReport(ev, now(), ev.kind === 'CANCELED' ? cancelId || newId() : '', ++executionId);
    for (const [ws, subscriptionId] of subscribed) {
      const text = JSON.stringify({ subscriptionId, event });
      push(ws, text);
      if (ev.kind === 'TRADE' && faults.duplicate_fills) push(ws, text);
    }
  });

  // --- REST ---------------------------------------------------------------------------------------------
  const usage = { minute: -1, weight: 0, tenS: -1, orders10s: 0, day: -1, orders1d: 0 };
  const routes = restRoutes({
    exchange,
    faults,
    now,
    permissions: o.permissions ?? {},
    rateLimits: RATE_LIMITS.map((l) => ({ ...l, limit: l.limit * (o.limitsMultiplier ?? 1) })),
    withCancelId: <T>(id: string | undefined, f: () => T): T => {
      cancelId = id ?? newId();
      try {
        return f();
      } finally {
        cancelId = '';
      }
    },
    newId,
  });

  function send(res: ServerResponse, a: Answer, weight: number): void {
    const t = now();
    const minute = Math.floor(t / 60_000);
    if (minute !== usage.minute) Object.assign(usage, { minute, weight: 0 });
    usage.weight += weight;
    const headers: Record<string, string> = { 'content-type': 'application/json;charset=UTF-8', 'x-mbx-used-weight-1m': String(usage.weight) };
    if (a.orderCounted) {
      const tenS = Math.floor(t / 10_000);
      const day = Math.floor(t / 86_400_000);
      if (tenS !== usage.tenS) Object.assign(usage, { tenS, orders10s: 0 });
      if (day !== usage.day) Object.assign(usage, { day, orders1d: 0 });
      headers['x-mbx-order-count-10s'] = String(++usage.orders10s);
      headers['x-mbx-order-count-1d'] = String(++usage.orders1d);
    }
    const text = JSON.stringify(a.body);
    res.writeHead(a.status, { ...headers, ...a.headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  /** A signed request's key, signature and timestamp, checked as Binance does; an error answer or undefined. */
  function authenticate(req: IncomingMessage, url: URL, body: string, params: URLSearchParams): Answer | undefined {
    const key = req.headers['x-mbx-apikey'];
    if (typeof key !== 'string' || key === '') return err(401, -2014, 'API-key format invalid.');
    if (key !== o.apiKey) return err(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const signature = params.get('signature');
    if (!signature) return mandatory('signature');
    const timestamp = Number(params.get('timestamp'));
    if (!params.get('timestamp') || !Number.isFinite(timestamp)) return mandatory('timestamp');
    const recvWindow = params.has('recvWindow') ? Number(params.get('recvWindow')) : 5_000;
    if (!Number.isFinite(recvWindow) || recvWindow <= 0 || recvWindow > 60_000) return err(400, -1131, 'recvWindow must be less than 60000');
    const unsigned = (s: string) =>
      s
        .split('&')
        .filter((p) => p !== '' && !p.startsWith('signature='))
        .join('&');
    if (!signatureMatches(signRest(o.apiSecret, unsigned(url.search.slice(1)), unsigned(body)), signature)) return err(400, -1022, 'Signature for this request is not valid.');
    const serverTime = now();
    if (timestamp >= serverTime + 1_000) return err(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    if (serverTime - timestamp > recvWindow) return err(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (await handleAdmin(req, res, { exchange, faults, dropStreams })) return;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const logged: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, at_ms: Date.now() };
    requests.push(logged);
    const body = await readBody(req);
    if (faults.latency_ms > 0) await sleep(faults.latency_ms);
    const reply = (a: Answer, weight = 1) => {
      logged.status = a.status;
      send(res, a, weight);
    };
    if (faults.http_418)
      return reply({
        ...err(418, -1003, `Way too much request weight used; IP banned until ${now() + 120_000}. Please use WebSocket Streams for live updates to avoid bans.`),
        headers: { 'retry-after': '120' },
      });
    if (faults.http_429 > 0) {
      const wait = faults.http_429--;
      return reply({
        ...err(
          429,
          -1003,
          'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
        ),
        headers: { 'retry-after': String(wait) },
      });
    }
    const route: RestRoute | undefined = routes.get(`${req.method} ${url.pathname}`);
    if (!route) return reply(err(404, -1000, `Unknown endpoint ${req.method} ${url.pathname}.`));
    // The query string wins over the body for a parameter sent in both.
    const params = new URLSearchParams(body);
    for (const [k, v] of url.searchParams) params.set(k, v);
    if (route.signed) {
      const refused = authenticate(req, url, body, params);
      if (refused) return reply(refused, route.weight(params));
    }
    if (route.placesOrder && faults.http_5xx > 0) {
      faults.http_5xx--;
      return reply(err(503, -1008, 'Server is currently overloaded with other requests. Please try again in a few minutes.'));
    }
    const a = route.handle(params);
    if (a.hang) {
      // Accepted, then no answer: the connection hangs, then is dropped.
      const t = setTimeout(() => req.socket.destroy(), 10_000);
      t.unref();
      req.socket.once('close', () => clearTimeout(t));
      return;
    }
    reply(a, route.weight(params));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, err(500, -1000, `An unknown error occurred while processing the request. (${(e as Error).message})`), 1);
    });
  });

  // --- WebSocket API: user-data stream subscriptions ---------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true });
  let subscriptions = 0;
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://emulator').pathname !== WS_API_PATH) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      // The WebSocket API pings every 20 s; the ws client answers with pongs by itself.
      const pinger = setInterval(() => ws.ping(), 20_000);
      pinger.unref();
      ws.on('close', () => {
        clearInterval(pinger);
        sockets.delete(ws);
        subscribed.delete(ws);
      });
      ws.on('message', (data) => ws.send(JSON.stringify(wsRequest(ws, Buffer.from(data as Buffer).toString('utf8')))));
    });
  });

  function wsRequest(ws: WebSocket, text: string): Record<string, unknown> {
    let r: { id?: unknown; method?: unknown; params?: Record<string, string | number> };
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      return { id: null, status: 400, error: { code: -1102, msg: "Mandatory parameter 'method' was not sent, was empty/null, or malformed." } };
    }
    const id = r.id ?? null;
    const fail = (status: number, code: number, msg: string) => ({ id, status, error: { code, msg } });
    switch (r.method) {
      case 'ping':
        return { id, status: 200, result: {} };
      case 'time':
        return { id, status: 200, result: { serverTime: now() } };
      case 'userDataStream.subscribe.signature': {
        const p = r.params ?? {};
        if (typeof p.apiKey !== 'string') return fail(400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.");
        if (p.apiKey !== o.apiKey) return fail(401, -2015, 'Invalid API-key, IP, or permissions for action.');
        if (typeof p.signature !== 'string') return fail(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
        if (!signatureMatches(signWsParams(o.apiSecret, p), p.signature)) return fail(400, -1022, 'Signature for this request is not valid.');
        const ts = Number(p.timestamp);
        const window = p.recvWindow === undefined ? 5_000 : Number(p.recvWindow);
        if (!Number.isFinite(ts) || ts >= now() + 1_000 || now() - ts > window) return fail(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
        if (subscribed.has(ws)) return fail(400, -1210, 'This account is already subscribed on this connection.');
        const subscriptionId = subscriptions++;
        subscribed.set(ws, subscriptionId);
        return { id, status: 200, result: { subscriptionId } };
      }
      case 'userDataStream.unsubscribe':
        subscribed.delete(ws);
        return { id, status: 200, result: {} };
      case 'session.subscriptions':
        return { id, status: 200, result: subscribed.has(ws) ? [{ subscriptionId: subscribed.get(ws) }] : [] };
      default:
        return fail(400, -1000, `Unknown method ${JSON.stringify(r.method)}.`);
    }
  }

  function dropStreams(): void {
    for (const ws of sockets) ws.terminate();
  }

  const { url, hostPort } = await listenEmulator(server, o);
  return {
    url,
    wsUrl: `ws://${hostPort}${WS_API_PATH}`,
    exchange,
    faults,
    requests,
    async close() {
      clearTimeout(releaseTimer);
      dropStreams();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
