// The HTTP API (fastify): health, readiness, metrics and redacted config on every process; on
// `serve`, also orders, lifecycles, positions, PnL, status, the operator's control endpoints, the
// live WebSocket feed and the operator page. Reads come from the process's fold of the log (the
// tail); control writes events to the log, as the CLI does.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import { type z } from 'zod';
import { TOPICS, type Event } from '../domain/events.js';
import type { EventLog } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { dec, fmt, ZERO } from '../domain/decimal.js';
import type { MarkToMarket, PnlTotals } from '../positions/positions.js';
import { markPositions } from '../projections/view.js';
import { HEADER_INTENT_ID } from '../runtime/codec.js';
import { parentOf } from '../oms/parent.js';
import { appendToAll, appendToRisk, riskCommand, setPolicy, venueCommand, RISK_ACTS } from './commands.js';
import { OPERATIONS, PolicyBody, QuarantineBody, ScopeBody, openApiDocument, type Lifecycle, type Status } from './contract.js';
import { CLOSE_BAD_REQUEST, DEFAULT_MAX_BUFFERED, Subscriber, parseFeedRequest } from './feed.js';
import type { Metrics } from './metrics.js';
import { OPERATOR_PAGE } from './page.js';
import type { RedisReads } from './redis-reads.js';
import { BadQuery, OrderJsonCache, apiOrder, pageOrdersJson, parseOrdersQuery } from './orders.js';
import { tailRecord, type LogTail } from './tail.js';
import { bearer, type OperatorTokens } from './tokens.js';
import { issuesText } from '../domain/faults.js';

export interface Probe {
  ok: boolean;
  reasons: string[];
}

export interface ApiOptions {
  /** What this process is: `serve`, or the stage or sink it runs. */
  role: string;
  version: string;
  metrics: Metrics;
  logger: Logger;
  config: () => Record<string, unknown>;
  /** Soft failures (degraded) and hard ones (failing) right now. */
  health: () => { degraded: string[]; failing: string[] };
  ready: () => Probe;
  /** Stages of this process with their lag. */
  stages: () => { name: string; lag: number; busy: boolean }[];
  /** serve: the fold of the log, the log to write operator commands to, and the market to mark positions. */
  data?: {
    tail: LogTail;
    log: EventLog;
    market: MarketData;
    tokens: OperatorTokens;
    /** Lifecycle from the ClickHouse journal, when one is configured. */
    journal?: (intentId: string) => Promise<z.infer<typeof Lifecycle>['events']>;
    /** Orders and positions from the Redis projection (REDIS_URL), instead of this process's fold. */
    reads?: RedisReads;
  };
  /** Most feed subscribers at once. */
  maxSubscribers?: number;
  /** Unsent bytes a feed subscriber may queue before it is dropped (default 8 MiB). */
  feedMaxBuffered?: number;
}

/** Every route and its methods, for the 405 answer to a method a path does not take. */
const ROUTES = [
  ...Object.entries(OPERATIONS).map(([path, ops]) => ({
    path: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.entries(ops).flatMap(([m, op]) => (op ? [m === 'get' ? 'GET, HEAD' : m.toUpperCase()] : [])),
  })),
  { path: /^\/(openapi\.json|feed)?$/, methods: ['GET, HEAD'] },
];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, routerOptions: { maxParamLength: 500 } });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message, code: err.code });
    if (err instanceof BadQuery) return reply.code(400).send({ error: err.message, code: 'BAD_QUERY' });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) o.logger.error({ err, url: req.url }, 'request failed');
    return reply
      .code(status)
      .send({ error: status === 500 ? 'internal error (see the server log)' : err.message, code: status === 500 ? 'INTERNAL' : (err.code ?? 'BAD_REQUEST') });
  });
  const notAllowed = (req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    const path = req.url.split('?')[0];
    const allowed = ROUTES.filter((r) => r.path.test(path)).flatMap((r) => r.methods);
    if (allowed.length === 0 || allowed.some((m) => m.split(', ').includes(req.method))) return undefined;
    return reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send({ error: `${req.method} is not allowed on ${path}: use ${allowed.join(', ')}`, code: 'METHOD_NOT_ALLOWED' });
  };
  // Before any body parsing: a method with a body (QUERY, PUT…) on a path that does not take it is a 405, whatever its content type.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST' && notAllowed(req, reply)) return;
    done();
  });
  app.setNotFoundHandler((req, reply) => notAllowed(req, reply) ?? reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'NOT_FOUND' }));

  app.get('/healthz', (_req, reply) => {
    const h = o.health();
    const status = h.failing.length > 0 ? 'failing' : h.degraded.length > 0 ? 'degraded' : 'ok';
    return reply.code(status === 'failing' ? 503 : 200).send({ status, reasons: [...h.failing, ...h.degraded], role: o.role });
  });
  app.get('/readyz', (_req, reply) => {
    const r = o.ready();
    o.metrics.ready.set(r.ok ? 1 : 0);
    return reply.code(r.ok ? 200 : 503).send({ ready: r.ok, reasons: r.reasons });
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await o.metrics.expose();
    return reply.type(m.contentType).send(m.body);
  });
  app.get('/config', () => o.config());
  app.get('/openapi.json', () => openApiDocument(o.version));

  const data = o.data;
  app.get('/status', () => status(o));
  if (!data) return app;
  const { tail, log, market, tokens } = data;

  const orderJson = new OrderJsonCache();
  const reads = data.reads;
  app.get('/orders', async (req, reply) => {
    const q = parseOrdersQuery(req.query as Record<string, unknown>);
    const body = reads ? await reads.page(q) : pageOrdersJson(q, tail.orderIds, tail.byAccount, (c) => tail.view.orders.get(c), orderJson);
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.get('/orders/:id', async (req) => {
    const id = (req.params as { id: string }).id;
    const order = tail.view.orders.get(id);
    const intentId = order ? order.order.intent_id : id;
    const orders = reads
      ? (await reads.ordersOfIntent(intentId)).map((o) => apiOrder(o.state, o.seq))
      : [...tail.view.orders.values()].filter((s) => s.order.intent_id === intentId).map((s) => apiOrder(s, tail.orderIds.indexOf(s.order.client_order_id)));
    let events: z.infer<typeof Lifecycle>['events'];
    let source: 'clickhouse' | 'log';
    if (data.journal) {
      events = await data.journal(intentId);
      source = 'clickhouse';
    } else {
      events = await lifecycleFromLog(log, tail, intentId);
      source = 'log';
    }
    if (events.length === 0 && orders.length === 0) throw new HttpError(404, 'NOT_FOUND', `no intent or order ${id}`);
    return { intent_id: intentId, ...(orders.length > 0 ? { parent: parentOf(orders) } : {}), orders, events, source } satisfies z.infer<typeof Lifecycle>;
  });

  /** Positions and their time: from Redis when configured, else this process's fold. */
  const held = async () => (reads ? reads.positions() : tail.view);
  app.get('/positions', async (req) => {
    const account = (req.query as { account?: unknown }).account;
    if (account !== undefined && typeof account !== 'string') throw new BadQuery('account: give it once, as text');
    const view = await held();
    const mtm = markPositions(view, market);
    return {
      marked_at: view.last_ts,
      positions: mtm.positions
        .filter((p) => account === undefined || p.account === account)
        .map((p) => ({
          account: p.account,
          instrument_id: p.instrument_id,
          base: p.base,
          quote: p.quote,
          qty: p.qty,
          avg_cost: p.avg_cost,
          realized_pnl: p.realized_pnl,
          fees: p.fees,
          net_realized_pnl: p.net_realized_pnl,
          ...(p.mark !== undefined ? { mark: p.mark } : {}),
          ...(p.unrealized_pnl !== undefined ? { unrealized_pnl: p.unrealized_pnl } : {}),
          fills: p.fills,
        })),
    };
  });

  app.get('/pnl', async () => {
    const view = await held();
    const mtm = markPositions(view, market);
    return { marked_at: view.last_ts, by_quote: mtm.totals, by_account: byAccount(mtm), other_fees: mtm.other_fees };
  });

  // Operator actions: a bearer token names the operator; the act is an event with that name.
  const operator = (req: FastifyRequest): string => {
    const name = tokens.operatorOf(bearer(req.headers.authorization));
    if (name === undefined) {
      // Logged without the header: the token (right or wrong) never reaches a log line.
      o.logger.warn({ route: req.url, ip: req.ip, has_token: req.headers.authorization !== undefined }, 'control refused: missing or wrong operator token');
      throw new HttpError(401, 'UNAUTHORIZED', tokens.size === 0 ? 'no operator tokens are configured (FILLSTREAM_OPERATOR_TOKENS)' : 'missing or wrong operator token');
    }
    return name;
  };
  const body = <T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> => {
    const parsed = schema.safeParse(req.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'BAD_BODY', `body: ${issuesText(parsed.error.issues, '(body)')}`);
    return parsed.data;
  };
  for (const act of RISK_ACTS) {
    app.post(`/control/${act}`, async (req) => {
      const who = operator(req);
      const b = body(ScopeBody, req);
      let e: Event;
      try {
        e = riskCommand(act, b.scope, who, b.reason);
      } catch (err) {
        throw new HttpError(400, 'BAD_SCOPE', (err as Error).message);
      }
      await appendToRisk(log, [e]);
      o.logger.info({ operator: who, command: act, scope: b.scope, event_id: e.event_id }, 'operator command');
      return { accepted: true, command: act, event_id: e.event_id, operator: who, detail: `${act} ${b.scope}: ${b.reason}` };
    });
  }
  app.post('/control/clear-quarantine', async (req) => {
    const who = operator(req);
    const b = body(QuarantineBody, req);
    const e = venueCommand('clear-quarantine', { ...b, operator: who });
    await appendToAll(log, TOPICS.gateway, [e]);
    o.logger.info({ operator: who, command: 'clear-quarantine', venue: b.venue, env: b.env, account: b.account }, 'operator command');
    return { accepted: true, command: 'clear-quarantine', event_id: e.event_id, operator: who, detail: `${b.env}:${b.venue.toUpperCase()} account ${b.account}: ${b.reason}` };
  });
  app.post('/control/policy', async (req) => {
    const who = operator(req);
    const b = body(PolicyBody, req);
    let set;
    try {
      set = await setPolicy(log, 'policy' in b ? { policy: b.policy, what: 'the policy in the request' } : { patch: b.patch, what: 'the patch in the request' }, who, b.reason);
    } catch (err) {
      // The body is a schema-valid policy or patch: what is refused is the policy it makes.
      throw new HttpError(409, 'POLICY_REFUSED', (err as Error).message);
    }
    o.logger.info({ operator: who, command: 'policy', version: set.version, written: set.written }, 'operator command');
    return {
      accepted: set.written,
      command: 'policy',
      operator: who,
      detail: set.written ? `risk policy version ${set.version} in force` : `that policy is already in force (version ${set.version})`,
    };
  });

  // The live feed.
  let subscribers = 0;
  app.get('/feed', { websocket: true }, (socket, req) => {
    let request;
    try {
      request = parseFeedRequest(req.query as Record<string, unknown>);
    } catch (err) {
      socket.close(CLOSE_BAD_REQUEST, (err as Error).message.slice(0, 120));
      return;
    }
    if (subscribers >= (o.maxSubscribers ?? 256)) {
      socket.close(1013, 'too many feed subscribers; try again later');
      return;
    }
    subscribers++;
    o.metrics.feedSubscribers.set(subscribers);
    const sub = new Subscriber(socket, request, o.feedMaxBuffered ?? DEFAULT_MAX_BUFFERED, () => o.metrics.feedDropped.inc());
    socket.on('close', () => o.metrics.feedSubscribers.set(--subscribers));
    sub.start(tail, log).catch((err: unknown) => {
      o.logger.warn({ err }, 'feed catch-up failed');
      socket.close(1011, 'could not read the log from the offsets asked for');
    });
  });

  // The operator page: one HTML file, no build step.
  app.get('/', (_req, reply: FastifyReply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(OPERATOR_PAGE));
  return app;
}

function status(o: ApiOptions): z.infer<typeof Status> {
  const r = o.ready();
  const v = o.data?.tail.view;
  const venues = v?.venues ?? {};
  return {
    role: o.role,
    bus: o.data?.log.kind ?? 'embedded',
    ready: r.ok,
    stages: o.stages(),
    reader_lag: o.data?.tail.lag() ?? 0,
    venues,
    trading_states: v?.risk_states ?? {},
    quarantines: Object.entries(venues).flatMap(([k, s]) => (s.quarantined ? [`${k}: ${s.quarantined}`] : [])),
    counts: {
      events: v?.events ?? 0,
      intents: v?.intents ?? 0,
      accepted: v?.accepted ?? 0,
      rejected: v?.rejected ?? 0,
      dlq: v?.dlq ?? 0,
      duplicates: v?.duplicates ?? 0,
      orders: v?.orders.size ?? 0,
      fills: v?.fills ?? 0,
    },
    policy_version: v?.policy_version ?? 0,
  };
}

/** PnL totals per account, by quote currency (amounts in different quotes are never added). */
function byAccount(mtm: MarkToMarket): Record<string, Record<string, PnlTotals>> {
  const groups = new Map<string, Map<string, MarkToMarket['positions']>>();
  for (const p of mtm.positions) {
    let a = groups.get(p.account);
    if (!a) groups.set(p.account, (a = new Map<string, MarkToMarket['positions']>()));
    let q = a.get(p.quote);
    if (!q) a.set(p.quote, (q = []));
    q.push(p);
  }
  const out: Record<string, Record<string, PnlTotals>> = {};
  for (const [account, quotes] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out[account] = {};
    for (const [quote, list] of quotes) out[account][quote] = sumPositions(list);
  }
  return out;
}

function sumPositions(list: MarkToMarket['positions']): PnlTotals {
  let realized = ZERO;
  let unrealized = ZERO;
  let fees = ZERO;
  let unmarked = 0;
  for (const p of list) {
    realized = realized.plus(dec(p.realized_pnl));
    fees = fees.plus(dec(p.fees));
    if (p.unrealized_pnl !== undefined) unrealized = unrealized.plus(dec(p.unrealized_pnl));
    else if (!dec(p.qty).eq(0)) unmarked++;
  }
  return { realized: fmt(realized), unrealized: fmt(unrealized), fees: fmt(fees), net: fmt(realized.plus(unrealized).minus(fees)), unmarked };
}

/** An intent's events from the log, through the tail's index of where each intent's records are. */
async function lifecycleFromLog(log: EventLog, tail: LogTail, intentId: string): Promise<z.infer<typeof Lifecycle>['events']> {
  const at = tail.recordsOf(intentId);
  const out: z.infer<typeof Lifecycle>['events'] = [];
  for (const p of at) {
    const [r] = await log.read(p.topic, p.partition, p.offset, 1);
    if (!r || r.headers[HEADER_INTENT_ID] !== intentId) continue;
    const t = tailRecord(r);
    out.push({ topic: r.topic, partition: r.partition, offset: r.offset, type: t.event.type, ts: t.event.ts, event: t.event });
  }
  return out;
}
