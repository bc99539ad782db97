// Events on the wire: JSON, keyed by account so everything about one account stays in order.
// Headers repeat a few fields of the event so readers that only count, index or fold order
// status need not parse the JSON (replay, restore; later Kafka consumers and audit sinks).
import { EVENT_TOPIC, type Event, type EventType, type OrderStatusFact } from '../domain/events.js';
import { childTraceparent } from '../domain/trace.js';
import type { LogRecord, OutRecord } from '../log/types.js';

export const HEADER_TYPE = 'type';
export const HEADER_INTENT_ID = 'intent_id';
/** On a flatten's closing decisions: a fold that counts approvals from headers tells them from intents' approvals. */
export const HEADER_FLATTEN_ID = 'flatten_id';
/** On every event about one order. */
export const HEADER_CLIENT_ORDER_ID = 'client_order_id';
/** On the order status events: OrderSubmitted, OrderAcked, OrderCanceled, OrderRejected, OrderExpired. */
export const HEADER_TS = 'ts';
/** On OrderAcked. */
export const HEADER_VENUE_ORDER_ID = 'venue_order_id';
/** On every event: W3C trace context (see domain/trace.ts). */
export const HEADER_TRACEPARENT = 'traceparent';
/**
 * On a raw intent that a stage moved to its account's partition of exec.intents: the position of
 * the record it copies (`exec.intents/<partition>/<offset>`). Folds count the copied record only.
 */
export const HEADER_FORWARDED_FROM = 'forwarded_from';

/** `parent` is the traceparent header of the record the event follows from, if it had one. */
export function toRecord(event: Event, recordedAt: string, parent?: string): OutRecord {
  event.recorded_at = recordedAt;
  const headers = headersOf(event);
  headers[HEADER_TRACEPARENT] = childTraceparent(parent, event.intent_id, event.event_id);
  return {
    topic: EVENT_TOPIC[event.type],
    key: event.account || null,
    value: JSON.stringify(event),
    headers,
    decoded: event,
  };
}

/** The traceparent header of a record, if any. */
export const traceOf = (r: LogRecord): string | undefined => r.headers[HEADER_TRACEPARENT];

// Always in this order (type, intent_id, client_order_id, ts, venue_order_id, then traceparent):
// the log's reader reuses the header names of the previous record by position.
function headersOf(e: Event): Record<string, string> {
  switch (e.type) {
    case 'OrderRouted':
      return { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id, [HEADER_CLIENT_ORDER_ID]: e.data.order.client_order_id };
    case 'OrderFilled':
    case 'OrderAnomaly':
    case 'FillDuplicate':
    case 'OrderUnknown':
    case 'OrderAmended':
      return { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id, [HEADER_CLIENT_ORDER_ID]: e.data.client_order_id };
    case 'OrderSubmitted':
    case 'OrderCanceled':
    case 'OrderRejected':
    case 'OrderExpired':
      return { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id, [HEADER_CLIENT_ORDER_ID]: e.data.client_order_id, [HEADER_TS]: e.ts };
    case 'OrderAcked':
      return {
        [HEADER_TYPE]: e.type,
        [HEADER_INTENT_ID]: e.intent_id,
        [HEADER_CLIENT_ORDER_ID]: e.data.client_order_id,
        [HEADER_TS]: e.ts,
        [HEADER_VENUE_ORDER_ID]: e.data.venue_order_id,
      };
    case 'RiskApproved':
    case 'RiskRejected':
      return e.data.flatten_id === undefined
        ? { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id }
        : { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id, [HEADER_FLATTEN_ID]: e.data.flatten_id };
    default:
      return { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id };
  }
}

export function fromRecord(r: LogRecord): Event {
  // toString() without arguments is Buffer's direct UTF-8 path (an encoding argument is looked up).
  return (r.decoded as Event | undefined) ?? (JSON.parse(r.value.toString()) as Event);
}

/** The event type from the header, without parsing; undefined for records written without one. */
export function typeOf(r: LogRecord): EventType | undefined {
  return r.headers[HEADER_TYPE] as EventType | undefined;
}

const STATUS_TYPES: ReadonlySet<string> = new Set(['OrderSubmitted', 'OrderAcked', 'OrderCanceled', 'OrderRejected', 'OrderExpired']);

/**
 * An order status event as its headers tell it, for folds that skip parsing it; undefined for
 * other records and for records written before these headers existed (those are parsed instead).
 */
export function statusOf(r: LogRecord): OrderStatusFact | undefined {
  const h = r.headers;
  const type = h[HEADER_TYPE];
  if (type === undefined || !STATUS_TYPES.has(type)) return undefined;
  const coid = h[HEADER_CLIENT_ORDER_ID];
  const ts = h[HEADER_TS];
  if (coid === undefined || ts === undefined) return undefined;
  if (type !== 'OrderAcked') return { type: type as Exclude<OrderStatusFact['type'], 'OrderAcked'>, ts, data: { client_order_id: coid } };
  const venueOrderId = h[HEADER_VENUE_ORDER_ID];
  return venueOrderId === undefined ? undefined : { type, ts, data: { client_order_id: coid, venue_order_id: venueOrderId } };
}
