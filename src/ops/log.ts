// Structured logs (pino): JSON lines on stderr, level from FILLSTREAM_LOG_LEVEL (default info).
// Lines about an intent carry intent_id, trace_id and stage; secrets never reach a line: known
// secret-bearing fields are censored by path, and callers log names, never tokens or keys.
import { pino, type Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(o: { role: string; level?: string; destination?: NodeJS.WritableStream } = { role: 'fillstream' }): Logger {
  const level = o.level ?? process.env.FILLSTREAM_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level)) throw new Error(`FILLSTREAM_LOG_LEVEL ${level}: use one of ${LEVELS.join(', ')}`);
  return pino(
    {
      level,
      base: { role: o.role, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', '*.api_secret', '*.passphrase', '*.token', 'token', 'api_secret', 'passphrase'],
        censor: '[redacted]',
      },
    },
    (o.destination as pino.DestinationStream | undefined) ?? pino.destination(2),
  );
}

/** A child logger for one intent's lines: its id, its trace and the stage. */
export function intentLogger(log: Logger, stage: string, intentId: string, traceparent: string | undefined): Logger {
  const traceId = traceparent?.split('-')[1];
  return log.child({ stage, intent_id: intentId, ...(traceId ? { trace_id: traceId } : {}) });
}

/** Event types whose lines are warnings: an intent refused or an order that failed. */
const WARN_TYPES: ReadonlySet<string> = new Set([
  'RiskRejected',
  'DeadLetter',
  'OrderRejected',
  'OrderUnknown',
  'OrderAnomaly',
  'AccountQuarantined',
  'VenueHalted',
  'TradingStateChanged',
  'FlattenCompleted',
]);

/**
 * One line per event a stage wrote about an intent: debug for the normal path (accepted, routed,
 * submitted, filled…), warn for refusals and failures. Skipped whole when the level is above them.
 */
export function logStageOutput(log: Logger, stage: string, out: readonly { headers?: Record<string, string>; decoded?: unknown }[]): void {
  const debug = log.isLevelEnabled('debug');
  if (!debug && !log.isLevelEnabled('warn')) return;
  for (const r of out) {
    const h = r.headers;
    const type = h?.type;
    if (!h || !type) continue;
    const warn = WARN_TYPES.has(type);
    if (!warn && !debug) continue;
    const data = (r.decoded as { data?: { code?: string; reason?: string } } | undefined)?.data;
    const line = {
      stage,
      event_type: type,
      ...(h.intent_id ? { intent_id: h.intent_id } : {}),
      ...(h.traceparent ? { trace_id: h.traceparent.split('-')[1] } : {}),
      ...(h.client_order_id ? { client_order_id: h.client_order_id } : {}),
      ...(data?.code ? { code: data.code } : {}),
      ...(data?.reason ? { reason: data.reason } : {}),
    };
    if (warn) log.warn(line, type);
    else log.debug(line, type);
  }
}
