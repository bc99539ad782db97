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
