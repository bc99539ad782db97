// OpenTelemetry traces, one per intent, from what the stages write: the intent's own span (its id
// derived from intent_id) is the parent, and normalize, risk, route, submit, ack and each fill are
// its children, whichever process wrote them. Span and trace ids are the ones the log's
// traceparent headers already carry (src/domain/trace.ts), so processes that never talk to each
// other build one trace, and a replay would name the same spans. Exported over OTLP/HTTP.
import { context, trace, SpanKind, SpanStatusCode, TraceFlags, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
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
  /** OTLP/HTTP base URL (…:4318); default from OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  endpoint?: string;
}

export class IntentTracer {
  private readonly sdk: NodeSDK;
  private readonly tracer: Tracer;
  // The ids the next span gets: set just before each span starts (the SDK asks its generator).
  private nextTraceId = '';
  private nextSpanId = '';

  constructor(o: TracingOptions) {
    const exporter = new OTLPTraceExporter(o.endpoint ? { url: `${o.endpoint.replace(/\/$/, '')}/v1/traces` } : {});
    this.sdk = new NodeSDK({
      serviceName: o.service,
      autoDetectResources: false,
      instrumentations: [],
      metricReaders: [],
      logRecordProcessors: [],
      spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 65_536, maxExportBatchSize: 2_048, scheduledDelayMillis: 500 })],
      idGenerator: {
        generateTraceId: () => this.take('trace') || randomBytes(16).toString('hex'),
        generateSpanId: () => this.take('span') || randomBytes(8).toString('hex'),
      },
    });
    this.sdk.start();
    this.tracer = trace.getTracer('fillstream');
  }

  /** Spans for what a stage wrote in one batch, between startMs and endMs (wall clock). */
  record(stage: string, out: readonly OutRecord[], startMs: number, endMs: number): void {
    for (const r of out) {
      const h = r.headers;
      const type = h?.[HEADER_TYPE];
      const step = type && STEPS[type];
      if (!h || !step) continue;
      const ids = parseTraceparent(h[HEADER_TRACEPARENT]);
      const intentId = h[HEADER_INTENT_ID];
      if (!ids || !intentId) continue;
      const root = intentSpanId(intentId);
      const attributes = {
        'fillstream.stage': stage,
        'fillstream.event_type': type,
        'fillstream.intent_id': intentId,
        ...(h[HEADER_CLIENT_ORDER_ID] ? { 'fillstream.client_order_id': h[HEADER_CLIENT_ORDER_ID] } : {}),
      };
      if (step === 'normalize') {
        // The intent's own span: opened where the intent is first decided on.
        this.nextTraceId = ids.traceId;
        this.nextSpanId = root;
        const s = this.tracer.startSpan(`intent ${intentId}`, { kind: SpanKind.CONSUMER, startTime: startMs, attributes: { 'fillstream.intent_id': intentId } }, context.active());
        if (FAILED.has(type)) s.setStatus({ code: SpanStatusCode.ERROR, message: type });
        s.end(endMs);
      }
      const parent = trace.setSpanContext(context.active(), { traceId: ids.traceId, spanId: root, traceFlags: TraceFlags.SAMPLED, isRemote: true });
      this.nextSpanId = ids.spanId;
      const span = this.tracer.startSpan(step, { kind: SpanKind.INTERNAL, startTime: startMs, attributes }, parent);
      if (FAILED.has(type)) span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      span.end(endMs);
    }
  }

  /** Sends what is buffered and stops. */
  async shutdown(): Promise<void> {
    await this.sdk.shutdown();
  }

  private take(kind: 'trace' | 'span'): string {
    const id = kind === 'trace' ? this.nextTraceId : this.nextSpanId;
    if (kind === 'trace') this.nextTraceId = '';
    else this.nextSpanId = '';
    return id;
  }
}

/** A tracer when OTLP is configured (OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT), else none: tracing is off by default. */
export function tracerFromEnv(service: string, env: NodeJS.ProcessEnv = process.env): IntentTracer | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  return new IntentTracer({ service: env.OTEL_SERVICE_NAME || service });
}
