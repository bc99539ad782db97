// The tracing worker: the OpenTelemetry SDK and its OTLP exporter on a thread of their own, so
// making span objects and serializing them never takes the pipeline's thread. It receives spans
// as tab-separated lines (see IntentTracer) and ends each with the ids and times it is given.
import { parentPort, workerData } from 'node:worker_threads';
import { context, trace, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';

const { service, endpoint } = workerData as { service: string; endpoint?: string };
// The ids the next span gets: set just before each span starts (the SDK asks its generator).
let nextTraceId = '';
let nextSpanId = '';
const exporter = new OTLPTraceExporter(endpoint ? { url: `${endpoint.replace(/\/$/, '')}/v1/traces` } : {});
const sdk = new NodeSDK({
  serviceName: service,
  autoDetectResources: false,
  instrumentations: [],
  metricReaders: [],
  logRecordProcessors: [],
  spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 131_072, maxExportBatchSize: 4_096, scheduledDelayMillis: 500 })],
  idGenerator: {
    generateTraceId: () => {
      const id = nextTraceId || randomBytes(16).toString('hex');
      nextTraceId = '';
      return id;
    },
    generateSpanId: () => {
      const id = nextSpanId || randomBytes(8).toString('hex');
      nextSpanId = '';
      return id;
    },
  },
});
sdk.start();
const tracer = trace.getTracer('fillstream');

/** One line: trace id, span id, parent span id ('' for the intent's own span), name, stage, event type, intent id, client order id, start ms, end ms, failed (1/0). */
function span(line: string): void {
  const [traceId, spanId, parentId, name, stage, type, intentId, coid, start, end, failed] = line.split('\t');
  nextTraceId = traceId;
  nextSpanId = spanId;
  const parent = parentId ? trace.setSpanContext(context.active(), { traceId, spanId: parentId, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : context.active();
  const attributes: Record<string, string> = { 'fillstream.intent_id': intentId };
  if (parentId) {
    attributes['fillstream.stage'] = stage;
    attributes['fillstream.event_type'] = type;
    if (coid) attributes['fillstream.client_order_id'] = coid;
  }
  const s = tracer.startSpan(name, { kind: parentId ? SpanKind.INTERNAL : SpanKind.CONSUMER, startTime: Number(start), attributes }, parent);
  if (failed === '1') s.setStatus({ code: SpanStatusCode.ERROR, message: type });
  s.end(Number(end));
}

parentPort!.on('message', (m: string) => {
  if (m === '\u0000shutdown') {
    void sdk.shutdown().finally(() => parentPort!.postMessage('done'));
    return;
  }
  for (const line of m.split('\n')) if (line) span(line);
});
