// The Prometheus metrics of a fillstream process (prom-client). One registry per process: a stage
// process exports its own stage's figures, the API process (`serve`) the business counts it folds
// from the log. Names are the contract of the alert rules (infra/prometheus/) and the dashboards
// (infra/grafana/): METRIC_NAMES lists them, and a test holds both against a live /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds buckets for latencies from 100 µs to 10 s. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Trading modes as numbers: alert rules compare `fillstream_trading_state == 2`. */
export const TRADING_STATE_VALUE = { ACTIVE: 0, REDUCING: 1, HALTED: 2 } as const;

export class Metrics {
  readonly registry = new Registry();

  // Stages (labels: stage = consumer group name).
  readonly stageRecords = new Counter({
    name: 'fillstream_stage_records_total',
    help: 'Input records a stage handled and committed',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly stageOutput = new Counter({
    name: 'fillstream_stage_output_records_total',
    help: 'Records a stage appended to the log',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly stageLag = new Gauge({
    name: 'fillstream_stage_lag_records',
    help: 'Records in a stage or sink input not yet handled and committed',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly stageBatch = new Histogram({
    name: 'fillstream_stage_batch_seconds',
    help: 'Time a stage spent deciding one batch',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly stageCommit = new Histogram({
    name: 'fillstream_stage_commit_seconds',
    help: 'Time from a batch handed to a stage to its output and offsets committed',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly stageUp = new Gauge({
    name: 'fillstream_stage_up',
    help: '1 while a stage consumes, 0 while it is restarting or stopped',
    labelNames: ['stage'],
    registers: [this.registry],
  });

  // Order flow.
  readonly intentToSubmit = new Histogram({
    name: 'fillstream_intent_to_submit_seconds',
    help: 'Wall time from an intent taken in to its order sent to the venue',
    labelNames: ['venue'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly submitToAck = new Histogram({
    name: 'fillstream_submit_to_ack_seconds',
    help: "Wall time from an order sent to the venue's answer",
    labelNames: ['venue'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly rejects = new Counter({ name: 'fillstream_risk_rejects_total', help: 'Intents risk rejected, by reason code', labelNames: ['code'], registers: [this.registry] });
  readonly deadLetters = new Counter({
    name: 'fillstream_dead_letters_total',
    help: 'Input records dead-lettered, by reason code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly duplicates = new Counter({ name: 'fillstream_duplicates_total', help: 'Intents dropped as duplicates of one already taken', registers: [this.registry] });
  readonly intents = new Counter({ name: 'fillstream_intents_total', help: 'Intents taken in from exec.intents', registers: [this.registry] });
  readonly fills = new Counter({ name: 'fillstream_fills_total', help: 'Fills recorded', registers: [this.registry] });
  readonly orders = new Gauge({ name: 'fillstream_orders', help: 'Orders by status', labelNames: ['status'], registers: [this.registry] });
  readonly chains = new Counter({
    name: 'fillstream_chains_total',
    help: 'Chains reported (FILLED, FAILED, ABORTED) or refused at admission (REFUSED_<code>)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly chainsInFlight = new Gauge({ name: 'fillstream_chains_in_flight', help: 'Chains admitted and not yet reported', registers: [this.registry] });

  // Venues (label venue = env:VENUE, e.g. prod:BINANCE).
  readonly venueUp = new Gauge({
    name: 'fillstream_venue_up',
    help: '1 while a venue is connected and trading, 0 when down, halted or quarantined',
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly venueHalted = new Gauge({ name: 'fillstream_venue_halted', help: '1 while a venue is halted (418 or an operator)', labelNames: ['venue'], registers: [this.registry] });
  readonly venueQuarantined = new Gauge({
    name: 'fillstream_venue_quarantined',
    help: '1 while an account on the venue is quarantined (an order fillstream did not place)',
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly venueHeadroom = new Gauge({
    name: 'fillstream_venue_rate_limit_headroom_ratio',
    help: "Share of the venue's request budget left in its current window (1 = untouched)",
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly venueErrors = new Counter({
    name: 'fillstream_venue_errors_total',
    help: 'Venue requests that failed, by kind (timeout, server, throttled, rejected)',
    labelNames: ['venue', 'kind'],
    registers: [this.registry],
  });

  // Risk and sinks.
  readonly tradingState = new Gauge({
    name: 'fillstream_trading_state',
    help: 'Trading state by scope: 0 ACTIVE, 1 REDUCING, 2 HALTED',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  readonly sinkLag = new Gauge({
    name: 'fillstream_sink_lag_records',
    help: 'Records a sink (projector, audit) has yet to write to its store',
    labelNames: ['sink'],
    registers: [this.registry],
  });
  readonly feedSubscribers = new Gauge({ name: 'fillstream_feed_subscribers', help: 'WebSocket feed subscribers connected', registers: [this.registry] });
  readonly feedDropped = new Counter({
    name: 'fillstream_feed_dropped_total',
    help: 'Feed subscribers dropped for reading too slowly (close code 4008)',
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'fillstream_ready',
    help: '1 once the process restored its state and reconciled its venues, 0 before and while quarantined',
    registers: [this.registry],
  });
  readonly info = new Gauge({ name: 'fillstream_build_info', help: 'Always 1: the version and role of this process', labelNames: ['version', 'role'], registers: [this.registry] });

  constructor(o: { defaults?: boolean } = {}) {
    // Process CPU, memory, event-loop lag and GC (process_* and nodejs_*).
    if (o.defaults !== false) collectDefaultMetrics({ register: this.registry });
  }

  private readonly collectors: (() => void)[] = [];
  private readonly exported = new Map<string, number>();

  /** Run before each scrape: gauges read from live objects (consumer lag, the fold's counts). */
  addCollector(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** Moves a counter up to a running total kept elsewhere (the fold's counts only grow). */
  advance(counter: Counter, total: number, labels: Record<string, string> = {}): void {
    const key = `${(counter as unknown as { name: string }).name}${JSON.stringify(labels)}`;
    const delta = total - (this.exported.get(key) ?? 0);
    if (delta <= 0) return;
    this.exported.set(key, total);
    counter.inc(labels, delta);
  }

  /** Text exposition for /metrics. */
  async expose(): Promise<{ contentType: string; body: string }> {
    for (const c of this.collectors) c();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Every fillstream_* metric name this process can export (counters without their _total suffix are not names: these are as scraped). */
export const METRIC_NAMES: readonly string[] = (() => {
  const m = new Metrics({ defaults: false });
  const names: string[] = [];
  for (const metric of m.registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type === 'histogram') names.push(`${name}_bucket`, `${name}_sum`, `${name}_count`);
    else names.push(name);
  }
  return names;
})();
