// The HTTP API's contract in zod: the responses and request bodies, and the OpenAPI 3.1 document
// built from them (served at /openapi.json, checked in as schemas/openapi.json). Tests validate
// real responses against these schemas, and schemathesis fuzzes the server from the document.
import { z } from 'zod';
import { OrderStatus } from '../domain/events.js';
import { RiskPolicy } from '../domain/risk-policy.js';

/** An ISO 8601 UTC time, e.g. 2026-01-02T03:04:05Z or with up to 9 fractional digits. ASCII digits only: a JSON Schema client's `\d` may be Unicode's. */
export const ISO_UTC = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$/;
/** A cursor this API gives out: base36 of at most 10 digits, so it stays a safe integer. */
export const CURSOR = /^c[0-9a-z]{1,10}$/;
/** A risk scope: global, or an account or strategy named in printable characters (no control characters). */
// eslint-disable-next-line no-control-regex -- the control characters are what it keeps out
export const SCOPE = /^(global|(account|strategy):[^\u0000-\u001f\u007f]+)$/;

const dec = z.string().describe('exact decimal as text');

export const ApiError = z.object({ error: z.string(), code: z.string() });

export const Health = z.object({
  status: z.enum(['ok', 'degraded', 'failing']),
  reasons: z.array(z.string()).describe('why degraded or failing; empty when ok'),
  role: z.string(),
});

export const Ready = z.object({ ready: z.boolean(), reasons: z.array(z.string()) });

export const ApiOrder = z.object({
  cursor: z.string().describe('this order’s place in the listing: pass it as `cursor` to continue after it'),
  client_order_id: z.string(),
  intent_id: z.string(),
  account: z.string(),
  strategy: z.string(),
  env: z.string(),
  venue: z.string(),
  instrument_id: z.string(),
  side: z.enum(['BUY', 'SELL']),
  order_type: z.string(),
  qty: dec,
  limit_price: dec.optional(),
  status: OrderStatus,
  filled_qty: dec,
  avg_price: dec,
  fees: dec,
  fee_ccy: z.string().optional(),
  venue_order_id: z.string().optional(),
  fills: z.number().int(),
  ts: z.string().describe('event time of the order’s last event'),
});

export const OrdersPage = z.object({
  orders: z.array(ApiOrder),
  next_cursor: z.string().nullable().describe('null at the end of the listing as it is now; orders added later come after it'),
  scanned: z.number().int().describe('orders looked at for this page (filters may skip many)'),
});

export const LifecycleEvent = z.object({
  topic: z.string(),
  partition: z.number().int(),
  offset: z.number().int(),
  type: z.string(),
  ts: z.string(),
  event: z.record(z.string(), z.unknown()),
});

/** An intent over its child orders (a split gives several): status, fills summed, average price. */
export const ApiParent = z.object({
  status: z.enum(['WORKING', 'FILLED', 'PARTIALLY_FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']),
  children: z.number().int(),
  open: z.number().int(),
  qty: dec,
  filled_qty: dec,
  avg_price: dec,
});

export const Lifecycle = z.object({
  intent_id: z.string(),
  parent: ApiParent.optional().describe('the intent over its orders, when it has any'),
  orders: z.array(ApiOrder),
  events: z.array(LifecycleEvent),
  source: z.enum(['clickhouse', 'log']),
});

export const ApiPosition = z.object({
  account: z.string(),
  instrument_id: z.string(),
  base: z.string(),
  quote: z.string(),
  qty: dec,
  avg_cost: dec,
  realized_pnl: dec,
  fees: dec,
  net_realized_pnl: dec,
  mark: dec.optional(),
  unrealized_pnl: dec.optional(),
  fills: z.number().int(),
});

export const Positions = z.object({ positions: z.array(ApiPosition), marked_at: z.string() });

export const PnlTotals = z.object({ realized: dec, unrealized: dec, fees: dec, net: dec, unmarked: z.number().int() });
export const Pnl = z.object({
  marked_at: z.string(),
  by_quote: z.record(z.string(), PnlTotals).describe('amounts in different quote currencies are never added together'),
  by_account: z.record(z.string(), z.record(z.string(), PnlTotals)),
  other_fees: z.record(z.string(), dec),
});

export const StageStatus = z.object({ name: z.string(), lag: z.number().int(), busy: z.boolean() });
export const Status = z.object({
  role: z.string(),
  bus: z.enum(['embedded', 'kafka']),
  ready: z.boolean(),
  stages: z.array(StageStatus),
  reader_lag: z.number().int().describe('records the API has yet to fold'),
  venues: z.record(z.string(), z.object({ halted: z.string().optional(), quarantined: z.string().optional(), ready_at: z.string().optional() })),
  trading_states: z.record(z.string(), z.object({ mode: z.string(), by: z.string(), reason: z.string() })),
  quarantines: z.array(z.string()),
  counts: z.object({
    events: z.number().int(),
    intents: z.number().int(),
    accepted: z.number().int(),
    rejected: z.number().int(),
    dlq: z.number().int(),
    duplicates: z.number().int(),
    orders: z.number().int(),
    fills: z.number().int(),
  }),
  policy_version: z.number().int(),
});

export const ScopeBody = z.strictObject({
  scope: z.string().regex(SCOPE).default('global').describe('global, account:NAME or strategy:NAME'),
  reason: z.string().min(1).describe('why (recorded)'),
});

export const QuarantineBody = z.strictObject({
  venue: z.enum(['BINANCE', 'OKX', 'KUCOIN']),
  env: z.enum(['staging', 'prod']),
  account: z.string().default('default'),
  reason: z.string().min(1),
});

export const PolicyBody = z.union([
  z.strictObject({ policy: RiskPolicy.describe('the whole new policy (schemas/risk-policy.schema.json)'), reason: z.string().min(1) }),
  z.strictObject({ patch: z.record(z.string(), z.unknown()).describe('a JSON merge patch (RFC 7386) of the policy in force'), reason: z.string().min(1) }),
]);

export const Accepted = z.object({
  accepted: z.boolean().describe('false when it changes nothing (that policy is already in force)'),
  command: z.string(),
  event_id: z.string().optional(),
  operator: z.string(),
  detail: z.string(),
});

type Op = {
  summary: string;
  query?: Record<string, { schema: z.ZodType; description: string }>;
  path?: Record<string, string>;
  body?: z.ZodType;
  ok: z.ZodType | 'text';
  errors?: number[];
  auth?: boolean;
};

const ordersQuery = {
  account: { schema: z.string(), description: 'only this account' },
  strategy: { schema: z.string(), description: 'only this strategy' },
  status: { schema: OrderStatus, description: 'only orders in this status' },
  venue: { schema: z.string(), description: 'only this venue (e.g. SIM, BINANCE)' },
  since: { schema: z.string().regex(ISO_UTC), description: 'only orders whose last event is at or after this time (ISO 8601 UTC)' },
  until: { schema: z.string().regex(ISO_UTC), description: 'only orders whose last event is before this time (ISO 8601 UTC)' },
  limit: { schema: z.int().min(1).max(1000), description: 'orders per page (default 100)' },
  cursor: { schema: z.string().regex(CURSOR), description: 'next_cursor of the previous page, or an order’s cursor' },
};

export const OPERATIONS: Record<string, Record<'get' | 'post', Op | undefined>> = {
  '/healthz': { get: { summary: 'alive; degraded with the reasons on soft failures', ok: Health, errors: [503] }, post: undefined },
  '/readyz': { get: { summary: 'ready once restored and reconciled, and not while quarantined', ok: Ready, errors: [503] }, post: undefined },
  '/metrics': { get: { summary: 'Prometheus metrics (text exposition)', ok: 'text' }, post: undefined },
  '/config': { get: { summary: 'the effective configuration, every secret redacted', ok: z.record(z.string(), z.unknown()) }, post: undefined },
  '/status': { get: { summary: 'stages, lag, venues, trading states, quarantines', ok: Status }, post: undefined },
  '/orders': { get: { summary: 'orders, filtered, with cursor pagination', query: ordersQuery, ok: OrdersPage, errors: [400] }, post: undefined },
  '/orders/{id}': {
    get: { summary: 'an intent’s or order’s whole lifecycle from the journal', path: { id: 'intent id or client order id' }, ok: Lifecycle, errors: [404] },
    post: undefined,
  },
  '/positions': { get: { summary: 'positions, marked at the last order event time', query: { account: ordersQuery.account }, ok: Positions }, post: undefined },
  '/pnl': { get: { summary: 'PnL totals by quote currency and by account', ok: Pnl }, post: undefined },
  ...Object.fromEntries(
    (['halt', 'resume', 'reduce', 'flatten', 'break-glass-flatten'] as const).map((act) => [
      `/control/${act}`,
      { get: undefined, post: { summary: `operator: ${act} a scope`, body: ScopeBody, ok: Accepted, errors: [400, 401], auth: true } },
    ]),
  ),
  '/control/clear-quarantine': {
    get: undefined,
    post: { summary: 'operator: let an account trade on a venue again', body: QuarantineBody, ok: Accepted, errors: [400, 401], auth: true },
  },
  '/control/policy': {
    get: undefined,
    post: {
      summary: 'operator: put a risk policy in force, or patch the one in force; 409 when the rules refuse the result (the policy in force stays)',
      body: PolicyBody,
      ok: Accepted,
      errors: [400, 401, 409],
      auth: true,
    },
  },
};

/** A JSON Schema for the document: inline, so without a `$schema` of its own. */
function json(s: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  // Requests are described as they may be sent (defaults optional), responses as they come back.
  const { $schema: _, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const ERROR_TEXT: Record<number, string> = {
  401: 'missing or wrong operator token',
  404: 'not found',
  409: 'refused by the rules of what may be in force; nothing changed',
};

/** The OpenAPI 3.1 document of the API. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(OPERATIONS)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op) continue;
      const parameters = [
        ...Object.entries(op.path ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } })),
        ...Object.entries(op.query ?? {}).map(([name, q]) => ({ name, in: 'query', required: false, description: q.description, schema: json(q.schema, 'input') })),
      ];
      const responses: Record<string, unknown> = {
        '200': {
          description: 'OK',
          content: op.ok === 'text' ? { 'text/plain': { schema: { type: 'string' } } } : { 'application/json': { schema: json(op.ok) } },
        },
      };
      for (const code of op.errors ?? []) {
        responses[String(code)] =
          code === 503 && op.ok !== 'text'
            ? { description: 'not ready or failing', content: { 'application/json': { schema: json(op.ok) } } }
            : {
                description: ERROR_TEXT[code] ?? 'bad request',
                content: { 'application/json': { schema: json(ApiError) } },
              };
      }
      paths[path] ??= {};
      paths[path][method] = {
        summary: op.summary,
        ...(parameters.length ? { parameters } : {}),
        ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(op.body, 'input') } } } } : {}),
        responses,
        ...(op.auth ? { security: [{ operatorToken: [] }] } : {}),
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'fillstream API', version, description: 'Read the live state of fillstream and steer it: orders, positions, PnL, status, and operator commands.' },
    paths,
    components: { securitySchemes: { operatorToken: { type: 'http', scheme: 'bearer', description: 'an operator token (FILLSTREAM_OPERATOR_TOKENS)' } } },
  };
}
