// The effective configuration as /config shows it: every value whose name says secret, and the
// password of every URL, replaced, whatever the nesting.
export const REDACTED = '[redacted]';

const SECRET_NAME = /(secret|token|password|passw|passphrase|api[_-]?key|private[_-]?key|credential|auth)/i;

/** A copy with secrets replaced: values under secret-like names, and user:password in URLs. */
export function redact(value: unknown, name = ''): unknown {
  if (value === null || value === undefined) return value;
  if (SECRET_NAME.test(name) && !/_FILE$|_file$|file$/.test(name)) return typeof value === 'string' && value === '' ? '' : REDACTED;
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, name));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redact(v, k);
    return out;
  }
  return value;
}

/** `scheme://user:password@host` → `scheme://user:[redacted]@host`; other text as it is. */
export function redactUrl(s: string): string {
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):([^@/\s]+)@/i, `$1:${REDACTED}@`);
}

/** Environment variables a fillstream process reads, with their values (redacted by name). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (/^(FILLSTREAM_|KAFKA_|REDIS_|CLICKHOUSE_|OTEL_)/.test(k) || /_(API_KEY|API_SECRET|PASSPHRASE)(_FILE)?$/.test(k)) out[k] = v;
  }
  return redact(out) as Record<string, string>;
}
