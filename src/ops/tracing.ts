// OpenTelemetry traces, one per intent, from what the stages write: the intent's own span (its id
// derived from intent_id) is the parent, and normalize, risk, route, submit, ack and each fill are
// its children, whichever process wrote them. Span and trace ids are the ones the log's
// traceparent headers already carry (src/domain/trace.ts), so processes that never talk to each
// other build one trace, and a replay would name the same spans. The SDK and its OTLP/HTTP
// exporter run on a worker thread (tracing-worker.ts): the pipeline's thread only writes lines.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { intentSpanId, parseTraceparent } from '../domain/trace.js';
import type { OutRecord } from '../log/types.js';
import { HEADER_CLIENT_ORDER_ID, HEADER_INTENT_ID, HEADER_TRACEPARENT, HEADER_TYPE } from '../runtime/codec.js';

/** The step of an intent's life each event type records. */
const STEPS: Readonly<Record<string, string>> = {
  IntentAccepted: 'normalize',
  IntentDuplicate: 'normalize',
  DeadLetter: 'normalize',
  RiskApproved: 'risk',
  RiskRejected: 'risk',
  OrderRouted: 'route',
  OrderSubmitted: 'submit',
  OrderAcked: 'ack',
  OrderFilled: 'fill',
  OrderRejected: 'reject',
  OrderCanceled: 'cancel',
  OrderExpired: 'expire',
  OrderUnknown: 'unknown',
};

/** Steps that end an intent's path badly: their spans carry an error status. */
const FAILED: ReadonlySet<string> = new Set(['RiskRejected', 'DeadLetter', 'OrderRejected']);

export interface TracingOptions {
  /** service.name of the spans (e.g. fillstream-decide). */
  service: string;
  /** Share of intents traced, decided from the trace id as OpenTelemetry's TraceIdRatioBased sampler does (every process agrees); default 1. */
  ratio?: number;
  /** OTLP/HTTP base URL (…:4318); default from OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  endpoint?: string;
}

/** Span lines buffered before they go to the worker in one message. */
const FLUSH_CHARS = 1 << 20;
const FLUSH_MS = 200;

export class IntentTracer {
  private readonly worker: Worker;
  private lines = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly bound: number | undefined;

  constructor(o: TracingOptions) {
    const ratio = o.ratio ?? 1;
    if (!(ratio >= 0 && ratio <= 1)) throw new Error(`trace sampling ratio ${ratio}: between 0 and 1`);
    this.bound = ratio >= 1 ? undefined : Math.floor(ratio * 0xffffffff);
    // Under tsx (tests) this module is TypeScript, and so is the worker beside it.
    const file = import.meta.url.endsWith('.ts') ? './tracing-worker.ts' : './tracing-worker.js';
    this.worker = new Worker(new URL(file, import.meta.url), { workerData: { service: o.service, endpoint: o.endpoint } });
    this.worker.unref();
  }

  /** Spans for what a stage wrote in one batch, between startMs and endMs (wall clock). */
  record(stage: string, out: readonly OutRecord[], startMs: number, endMs: number): void {
    let lines = '';
    for (const r of out) {
      const h = r.headers;
      const type = h?.[HEADER_TYPE];
      const step = type && STEPS[type];
      if (!h || !step) continue;
      const ids = parseTraceparent(h[HEADER_TRACEPARENT]);
      const intentId = h[HEADER_INTENT_ID];
      if (!ids || !intentId) continue;
      if (this.bound !== undefined && traceIdBucket(ids.traceId) >= this.bound) continue;
      const root = intentSpanId(intentId);
      const failed = FAILED.has(type) ? '1' : '0';
      const coid = h[HEADER_CLIENT_ORDER_ID] ?? '';
      // The intent's own span is opened where the intent is first decided on.
      if (step === 'normalize') lines += `${ids.traceId}\t${root}\t\tintent ${intentId}\t${stage}\t${type}\t${intentId}\t\t${startMs}\t${endMs}\t${failed}\n`;
      lines += `${ids.traceId}\t${ids.spanId}\t${root}\t${step}\t${stage}\t${type}\t${intentId}\t${coid}\t${startMs}\t${endMs}\t${failed}\n`;
    }
    if (lines === '') return;
    this.lines += lines;
    if (this.lines.length >= FLUSH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  /** Hands the buffered spans to the worker. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines === '') return;
    this.worker.postMessage(this.lines);
    this.lines = '';
  }

  /** Sends what is buffered and stops the worker once its exporter has sent everything. */
  async shutdown(): Promise<void> {
    this.flush();
    this.worker.ref();
    this.worker.postMessage('\u0000shutdown');
    await Promise.race([once(this.worker, 'message'), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.worker.terminate();
  }
}

/**
 * The number the OpenTelemetry JS SDK's TraceIdRatioBasedSampler compares with ratio × (2^32 − 1):
 * the XOR of the trace id's four 32-bit words. Deciding the same way means every process, and any
 * OpenTelemetry SDK sampling this trace id, keeps or drops the same intents.
 */
export function traceIdBucket(traceId: string): number {
  let acc = 0;
  for (let i = 0; i < 32; i += 8) acc = (acc ^ parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return acc;
}

/** A tracer when OTLP is configured (OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT), else none: tracing is off by default. */
export function tracerFromEnv(service: string, env: NodeJS.ProcessEnv = process.env): IntentTracer | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  return new IntentTracer({ service: env.OTEL_SERVICE_NAME || service, ratio: samplingRatio(env) });
}

/** The standard sampler settings: OTEL_TRACES_SAMPLER traceidratio (or parentbased_traceidratio) with OTEL_TRACES_SAMPLER_ARG; always_on (the default) traces every intent. */
export function samplingRatio(env: NodeJS.ProcessEnv = process.env): number {
  const sampler = env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on';
  if (sampler === 'always_on' || sampler === 'parentbased_always_on') return 1;
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
    const arg = env.OTEL_TRACES_SAMPLER_ARG ?? '1';
    const r = Number(arg);
    if (!(r >= 0 && r <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG ${arg}: a ratio between 0 and 1`);
    return r;
  }
  throw new Error(`OTEL_TRACES_SAMPLER ${sampler}: fillstream supports always_on, always_off and traceidratio (and their parentbased_ forms)`);
}
