// W3C trace context for the events of one intent: every event's record carries a `traceparent`
// whose trace id is the intent's trace (the producer's, when its intent came with a traceparent
// header; else derived from intent_id) and whose span id is the event's own. All of it is a
// function of the log's content, so a replay or a restart rebuilds the same trace.
import { hash } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE = '0'.repeat(32);

/** The trace id of a valid traceparent (W3C version 00, not all zeros); undefined otherwise. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  // A stage gives every event of one input the same parent: its trace id is worked out once.
  if (traceparent === lastParent) return lastTraceId;
  const m = TRACEPARENT.exec(traceparent);
  lastParent = traceparent;
  lastTraceId = m && m[1] !== ZERO_TRACE && m[2] !== '0000000000000000' ? m[1] : undefined;
  return lastTraceId;
}

let lastParent: string | undefined;
let lastTraceId: string | undefined;

/** A trace id for an intent whose producer sent none. */
export function traceIdForIntent(intentId: string): string {
  return hash('sha1', `trace\u0000${intentId}`, 'hex').slice(0, 32);
}

/** The traceparent of an event: its parent's trace (or the intent's), its own span. Sampled. */
export function childTraceparent(parent: string | undefined, intentId: string, eventId: string): string {
  // Events of no intent (a dead letter without an id, a policy change) are a trace of their own.
  return `00-${traceIdOf(parent) ?? traceIdForIntent(intentId || eventId)}-${spanId(eventId)}-01`;
}

/** 16 hex digits from the event id (FNV-1a, two 32-bit lanes): cheap, stable, never all zeros. */
function spanId(eventId: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < eventId.length; i++) {
    const c = eventId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  const hi = (a >>> 0).toString(16).padStart(8, '0');
  const lo = (b >>> 0 || 1).toString(16).padStart(8, '0');
  return hi + lo;
}

/** The span id of an intent's own (parent) span: every stage's span of the intent hangs under it. */
export function intentSpanId(intentId: string): string {
  return spanId(`intent\u0000${intentId}`);
}

/** Trace and span id of a traceparent; undefined when it is not a valid one. */
export function parseTraceparent(traceparent: string | undefined): { traceId: string; spanId: string } | undefined {
  if (traceparent === undefined) return undefined;
  const m = TRACEPARENT.exec(traceparent);
  return m && m[1] !== ZERO_TRACE && m[2] !== '0000000000000000' ? { traceId: m[1], spanId: m[2] } : undefined;
}
