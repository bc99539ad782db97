// An OKX v5 spot emulator on one port: REST at OKX's paths with OKX's signature, timestamp window
// (30 s), demo/live key check and error codes; the private WebSocket (/ws/v5/private) with its
// login, orders channel and text ping; the fault switches and /__emulator/* admin. Matching is
// the shared exchange core, with OKX's documented clOrdId rule: unique among pending orders
// (live, partially_filled) and free again once an order is filled or canceled.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { handleAdmin, listenEmulator, NO_FAULTS, parseFaults, readBody, type EmulatorBaseOptions, type FaultSwitches } from '../emulator/admin.js';
import { EmulatedExchange, type ExchangeEvent } from '../emulator/exchange.js';
import { rawText } from '../transport.js';
import { okxError, privateRoute, publicRoute, type RestContext, type RestReply } from './emulator-rest.js';
import { ANONYMOUS, orderJson } from './emulator-wire.js';
import { sameSignature, signRest, signWsLogin } from './signing.js';

export interface OkxEmulatorOptions extends EmulatorBaseOptions {
  /** Demo trading: requests must carry x-simulated-trading: 1; without it (a live key) OKX answers 50101, and the reverse. */
  demo?: boolean;
  /** The key's permissions (GET /account/config perm), default "read_only,trade". */
  perm?: string;
  /** How long an accepted placement hangs under timeout_after_accept before its connection is destroyed (default 2,000 ms). */
  hangMs?: number;
}

/** One REST request as the emulator received it (admin requests excluded); status -1 = never answered. */
export interface OkxRequestRecord {
  at_ms: number;
  method: string;
  path: string;
  status: number;
}

export interface OkxEmulator {
  url: string;
  wsUrl: string;
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  /** Every venue request received, in order, with its arrival time. */
  requests: OkxRequestRecord[];
  close(): Promise<void>;
}

/** OKX refuses a request whose timestamp is more than 30 s from its clock. */
const WINDOW_MS = 30_000;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PRIVATE_WS = '/ws/v5/private';
const UID = '44705892343619584';

function send(res: ServerResponse, r: RestReply, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

interface Session {
  connId: string;
  loggedIn: boolean;
  subscribed: boolean;
}

export async function startOkxEmulator(o: OkxEmulatorOptions): Promise<OkxEmulator> {
  const faults = parseFaults(o.faults ?? {}, NO_FAULTS);
  const demo = o.demo ?? false;
  const passphrase = o.passphrase ?? '';
  const exchange = new EmulatedExchange({
    venue: 'OKX',
    market: o.market,
    clientIdRule: 'while-open',
    now: () => Date.now() + faults.clock_skew_ms,
    balances: o.balances,
    balanceLagMs: () => faults.balance_lag_ms,
  });
  let anonymous = 0;
  const ctx: RestContext = { exchange, perm: o.perm ?? 'read_only,trade', amending: {}, nextAnonymous: () => `${ANONYMOUS}${++anonymous}` };
  const requests: OkxRequestRecord[] = [];
  const sockets = new Set<Socket>();
  const sessions = new Map<WebSocket, Session>();
  const timers = new Set<NodeJS.Timeout>();

  /** OKX's header checks, in its error codes; undefined when the request is authentic. */
  function authenticate(req: IncomingMessage, body: string): RestReply | undefined {
    const key = one(req.headers['ok-access-key']);
    const pass = one(req.headers['ok-access-passphrase']);
    const sign = one(req.headers['ok-access-sign']);
    const ts = one(req.headers['ok-access-timestamp']);
    if (!key) return okxError(401, '50103', 'Request header "OK-ACCESS-KEY" cannot be empty.');
    if (!pass) return okxError(401, '50104', 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.');
    if (!sign) return okxError(401, '50106', 'Request header "OK-ACCESS-SIGN" cannot be empty.');
    if (!ts) return okxError(401, '50107', 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.');
    if (!ISO_MS.test(ts) || Number.isNaN(Date.parse(ts))) return okxError(401, '50112', 'Invalid OK-ACCESS-TIMESTAMP.');
    if (Math.abs(exchange.now() - Date.parse(ts)) > WINDOW_MS) return okxError(401, '50102', 'Timestamp request expired.');
    if (key !== o.apiKey) return okxError(401, '50111', 'Invalid OK-ACCESS-KEY.');
    if ((one(req.headers['x-simulated-trading']) === '1') !== demo) return okxError(401, '50101', 'APIKey does not match current environment.');
    if (pass !== passphrase) return okxError(401, '50105', 'Request header "OK-ACCESS-PASSPHRASE" incorrect.');
    if (!sameSignature(sign, signRest(o.apiSecret, ts, req.method ?? 'GET', req.url ?? '/', body))) return okxError(401, '50113', 'Invalid signature.');
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (await handleAdmin(req, res, { exchange, faults, dropStreams })) return;
    const url = new URL(req.url ?? '/', 'http://okx');
    const method = req.method ?? 'GET';
    const record: OkxRequestRecord = { at_ms: Date.now(), method, path: url.pathname + url.search, status: 0 };
    requests.push(record);
    const body = await readBody(req);
    const reply = (r: RestReply, headers?: Record<string, string>) => {
      record.status = r.status;
      send(res, r, headers);
    };
    if (faults.latency_ms > 0) await sleep(faults.latency_ms);
    // OKX has no 418; the switch still bans generically, so a gateway's halt path can be rehearsed.
    if (faults.http_418) return reply({ status: 418, body: { code: '418', msg: 'IP banned (emulator fault http_418)', data: [] } });
    if (faults.http_429 > 0) {
      const after = faults.http_429--;
      return reply(okxError(429, '50011', 'Too Many Requests'), { 'retry-after': String(after) });
    }
    const pub = publicRoute(method, url, ctx);
    if (pub) return reply(pub);
    const refused = authenticate(req, body);
    if (refused) return reply(refused);
    const placing = method === 'POST' && (url.pathname === '/api/v5/trade/order' || url.pathname === '/api/v5/trade/batch-orders');
    if (placing && faults.http_5xx > 0) {
      faults.http_5xx--;
      return reply(okxError(503, '50001', 'Service temporarily unavailable. Please try again later.'));
    }
    const r = privateRoute(method, url, body, ctx) ?? { status: 404, body: { code: '404', msg: 'Not Found', data: [] } };
    if (placing && faults.timeout_after_accept > 0) {
      // Acted on, never answered: the connection hangs, then goes away.
      faults.timeout_after_accept--;
      record.status = -1;
      const t = setTimeout(() => {
        timers.delete(t);
        req.socket.destroy();
      }, o.hangMs ?? 2_000);
      timers.add(t);
      return;
    }
    reply(r);
  }

  // --- the private WebSocket: login, orders channel, pushes with the stream faults applied ---
  let held: { text: string; to: WebSocket[] }[] = [];
  let holdTimer: NodeJS.Timeout | undefined;

  function deliver(text: string, trade: boolean): void {
    if (faults.mute_user_stream) return;
    const to = [...sessions].filter(([ws, s]) => s.subscribed && ws.readyState === ws.OPEN).map(([ws]) => ws);
    const copies = trade && faults.duplicate_fills ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (faults.late_reports_ms > 0) {
        held.push({ text, to });
        holdTimer ??= setTimeout(() => {
          // Late and out of order: the window's pushes go out newest first.
          const batch = held.reverse();
          held = [];
          holdTimer = undefined;
          for (const h of batch) for (const ws of h.to) if (ws.readyState === ws.OPEN) ws.send(h.text);
        }, faults.late_reports_ms);
      } else for (const ws of to) ws.send(text);
    }
  }

  const unlisten = exchange.onEvent((e: ExchangeEvent) => {
    const data = orderJson(e.order, e.kind === 'TRADE' ? { trade: e.trade } : e.kind === 'AMENDED' ? { amendReqId: ctx.amending.reqId ?? '' } : undefined);
    deliver(JSON.stringify({ arg: { channel: 'orders', instType: 'SPOT', uid: UID }, data: [data] }), e.kind === 'TRADE');
  });

  function onStreamMessage(ws: WebSocket, s: Session, text: string): void {
    const answer = (m: Record<string, unknown>) => ws.send(JSON.stringify({ ...m, connId: s.connId }));
    if (text === 'ping') return void ws.send('pong');
    let m: { op?: unknown; args?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return answer({ event: 'error', code: '60012', msg: `Invalid request: ${text.slice(0, 100)}` });
    }
    const args = Array.isArray(m.args) ? (m.args as Record<string, unknown>[]) : [];
    if (m.op === 'login') {
      const a = args[0] ?? {};
      const ts = typeof a.timestamp === 'string' ? a.timestamp : '';
      const fail = (code: string, msg: string) => {
        answer({ event: 'error', code, msg });
        ws.close();
      };
      if (!/^\d+(\.\d+)?$/.test(ts)) return fail('60004', 'Invalid timestamp');
      if (Math.abs(exchange.now() / 1000 - Number(ts)) > WINDOW_MS / 1000) return fail('60006', 'Timestamp request expired');
      if (a.apiKey !== o.apiKey) return fail('60005', 'Invalid apiKey');
      if (a.passphrase !== passphrase) return fail('60024', 'Wrong passphrase');
      if (typeof a.sign !== 'string' || !sameSignature(a.sign, signWsLogin(o.apiSecret, ts))) return fail('60007', 'Invalid sign');
      s.loggedIn = true;
      return answer({ event: 'login', code: '0', msg: '' });
    }
    if (m.op === 'subscribe') {
      if (!s.loggedIn) return answer({ event: 'error', code: '60011', msg: 'Please log in' });
      for (const arg of args) {
        if (arg.channel !== 'orders') {
          answer({
            event: 'error',
            code: '60018',
            msg: `Wrong URL or channel:${String(arg.channel)} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`,
          });
          continue;
        }
        s.subscribed = true;
        answer({ event: 'subscribe', arg });
      }
      return;
    }
    answer({ event: 'error', code: '60019', msg: `Invalid op: ${String(m.op)}` });
  }

  const wss = new WebSocketServer({ noServer: true });
  let conns = 0;
  wss.on('connection', (ws: WebSocket) => {
    const s: Session = { connId: (++conns).toString(16).padStart(8, '0'), loggedIn: false, subscribed: false };
    sessions.set(ws, s);
    ws.on('message', (data: WebSocket.RawData) => onStreamMessage(ws, s, rawText(data)));
    ws.on('close', () => sessions.delete(ws));
    ws.on('error', () => sessions.delete(ws));
  });

  function dropStreams(): void {
    for (const ws of sessions.keys()) ws.terminate();
    sessions.clear();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, okxError(500, '50000', `emulator error: ${(e as Error).message}`));
    });
  });
  server.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://okx').pathname !== PRIVATE_WS) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const { url, hostPort } = await listenEmulator(server, o);

  return {
    url,
    wsUrl: `ws://${hostPort}${PRIVATE_WS}`,
    exchange,
    faults,
    requests,
    async close() {
      unlisten();
      clearTimeout(holdTimer);
      for (const t of timers) clearTimeout(t);
      dropStreams();
      wss.close();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
