// The operating surface wired to a running pipeline: the HTTP API of `fillstream serve` (the fold
// of the log, operator control, the feed and the page) and the admin port of every stage process
// (health, readiness, metrics, config, status), with the metrics each reads from live objects.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { OrderStatus } from '../domain/events.js';
import { buildApi } from '../ops/api.js';
import { configFromEnv, redact } from '../ops/config.js';
import { TRADING_STATE_VALUE, type Metrics } from '../ops/metrics.js';
import { LogTail } from '../ops/tail.js';
import { OperatorTokens } from '../ops/tokens.js';
import { ordersByStatus } from '../projections/view.js';
import { connectRedis } from '../projections/redis/client.js';
import { redisKeys } from '../projections/redis/keys.js';
import { RedisReads } from '../ops/redis-reads.js';
import { clickhouseClient, intentEvents } from '../audit/index.js';
import { SINK_NAMES, type Pipeline } from './run.js';

/** Rate-limit budget left below which a venue makes the process degraded. */
const LOW_HEADROOM = 0.1;

/** A sink this far behind makes the process degraded (it still serves). */
const SINK_BEHIND_RECORDS = 10_000;

export interface OpsOptions {
  role: string;
  version: string;
  port: number;
  host: string;
  metrics: Metrics;
  logger: Logger;
  /** The options the process runs with, shown redacted at /config. */
  settings: Record<string, unknown>;
  /** serve: fold the log and serve the data routes, the control endpoints, the feed and the page. */
  data?: { tokens?: OperatorTokens; feedMaxBuffered?: number; redis?: { url: string; prefix?: string }; clickhouseUrl?: string };
}

export interface Ops {
  url: string;
  app: FastifyInstance;
  tail?: LogTail;
  close(): Promise<void>;
}

export async function startOps(p: Pipeline, o: OpsOptions): Promise<Ops> {
  const m = o.metrics;
  m.info.set({ version: o.version, role: o.role }, 1);
  let failure: string | undefined;
  p.failed.catch((e: unknown) => (failure = `a stage stopped: ${(e as Error).message}`));
  const tail = o.data ? new LogTail(p.log, p.market) : undefined;
  if (tail) {
    await tail.start();
    tail.done.catch((e: unknown) => (failure = `the log reader stopped: ${(e as Error).message}`));
  }
  const isSink = (name: string) => (SINK_NAMES as readonly string[]).includes(name);

  m.addCollector(() => {
    m.ready.set(ready().ok ? 1 : 0);
    for (const c of p.consumers) {
      if (isSink(c.group)) m.sinkLag.set({ sink: c.group }, c.lag());
      else m.stageLag.set({ stage: c.group }, c.lag());
      m.stageUp.set({ stage: c.group }, failure ? 0 : 1);
    }
    for (const { venue, health } of p.liveHealth()) {
      m.venueHeadroom.set({ venue }, health.rate_headroom);
      m.venueUp.set({ venue }, health.connected && !health.halted ? 1 : 0);
      m.venueHalted.set({ venue }, health.halted ? 1 : 0);
    }
    if (!tail) {
      // A gateway process: its venues' standing from its own fold.
      for (const [venue, s] of p.venueStanding()) {
        m.venueHalted.set({ venue }, s.halted ? 1 : 0);
        m.venueQuarantined.set({ venue }, s.quarantined ? 1 : 0);
      }
      return;
    }
    const v = tail.view;
    m.advance(m.intents, v.intents);
    m.advance(m.duplicates, v.duplicates);
    m.advance(m.fills, v.fills);
    for (const [code, n] of Object.entries(v.rejects_by_code)) m.advance(m.rejects, n, { code });
    for (const [code, n] of Object.entries(v.dlq_by_code)) m.advance(m.deadLetters, n, { code });
    const c = v.chains;
    for (const [outcome, n] of [
      ['FILLED', c.filled],
      ['FAILED', c.failed],
      ['ABORTED', c.aborted],
    ] as const)
      m.advance(m.chains, n, { outcome });
    for (const [code, n] of Object.entries(c.refused_by_code)) m.advance(m.chains, n, { outcome: `REFUSED_${code}` });
    m.chainsInFlight.set(Math.max(0, c.approved - c.refused - c.filled - c.failed - c.aborted));
    const byStatus = ordersByStatus(v);
    for (const s of OrderStatus.options) m.orders.set({ status: s }, byStatus[s]);
    m.tradingState.reset();
    m.tradingState.set({ scope: 'global' }, 0);
    for (const [scope, s] of Object.entries(v.risk_states)) m.tradingState.set({ scope }, TRADING_STATE_VALUE[s.mode as keyof typeof TRADING_STATE_VALUE] ?? 0);
    for (const [venue, s] of Object.entries(v.venues)) {
      m.venueHalted.set({ venue }, s.halted ? 1 : 0);
      m.venueQuarantined.set({ venue }, s.quarantined ? 1 : 0);
      m.venueUp.set({ venue }, s.halted || s.quarantined || !s.ready_at ? 0 : 1);
    }
  });

  /** Venues' standing: serve reads it from its fold of the log, a gateway process from its own. */
  const standings = (): [string, { halted?: string; quarantined?: string }][] => (tail ? Object.entries(tail.view.venues) : [...p.venueStanding()]);
  const ready = () => {
    const reasons: string[] = [];
    if (failure) reasons.push(failure);
    for (const c of p.consumers) if (!isSink(c.group) && !p.restored.has(c.group)) reasons.push(`stage ${c.group} has not restored its state yet`);
    if (tail && !tail.isCaughtUp()) reasons.push('still folding the log');
    for (const [venue, s] of standings()) if (s.quarantined) reasons.push(`${venue} quarantined: ${s.quarantined}`);
    return { ok: reasons.length === 0, reasons };
  };
  const health = () => {
    const degraded: string[] = [];
    for (const c of p.consumers) if (isSink(c.group) && c.lag() > SINK_BEHIND_RECORDS) degraded.push(`sink ${c.group} is ${c.lag()} records behind`);
    for (const [venue, s] of standings()) if (s.halted) degraded.push(`${venue} halted: ${s.halted}`);
    for (const { venue, health } of p.liveHealth()) {
      if (!health.connected) degraded.push(`${venue}: the user-data stream is not connected`);
      if (health.backoff_until_ms !== undefined && health.backoff_until_ms > Date.now())
        degraded.push(`${venue} throttled: nothing is sent until ${new Date(health.backoff_until_ms).toISOString()}`);
      else if (health.rate_headroom < LOW_HEADROOM) degraded.push(`${venue} near its rate limit: ${Math.round(health.rate_headroom * 100)}% of the budget left`);
    }
    if (o.data?.tokens?.lastError) degraded.push(`operator tokens file refused (the previous tokens stay): ${o.data.tokens.lastError}`);
    return { degraded, failing: failure ? [failure] : [] };
  };
  const redis = o.data?.redis && connectRedis(o.data.redis.url);
  const reads = redis && new RedisReads(redis, redisKeys(o.data?.redis?.prefix));
  // Lifecycles from the ClickHouse journal when there is one (its query by intent reads a few granules).
  const clickhouse = o.data?.clickhouseUrl ? clickhouseClient(o.data.clickhouseUrl) : undefined;
  const journal =
    clickhouse &&
    (async (intentId: string) =>
      (await intentEvents(clickhouse, intentId)).map((r) => {
        const event = JSON.parse(r.payload) as Record<string, unknown>;
        return { topic: r.log_topic, partition: r.log_partition, offset: r.log_offset, type: r.event_type, ts: typeof event.ts === 'string' ? event.ts : '', event };
      }));
  const app = await buildApi({
    role: o.role,
    version: o.version,
    metrics: m,
    logger: o.logger,
    config: () => ({ role: o.role, version: o.version, bus: p.log.kind, settings: redact(o.settings), env: configFromEnv() }),
    health,
    ready,
    stages: () => p.consumers.map((c) => ({ name: c.group, lag: c.lag(), busy: c.busy() })),
    data: tail && { tail, log: p.log, market: p.market, tokens: o.data?.tokens ?? OperatorTokens.fromEnv(), reads, journal },
    feedMaxBuffered: o.data?.feedMaxBuffered,
  });
  const url = await app.listen({ port: o.port, host: o.host });
  o.logger.info({ url }, 'listening');
  return {
    url,
    app,
    tail,
    async close() {
      await app.close();
      await tail?.stop();
      redis?.disconnect();
      await clickhouse?.close();
    },
  };
}
