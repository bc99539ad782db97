// Events on the wire: JSON, keyed by account so everything about one account stays in order.
// Headers repeat a few fields of the event so readers that only count, index or fold order
// status need not parse the JSON (replay, restore; later Kafka consumers and audit sinks).
import { EVENT_TOPIC, type Event, type EventType } from '../domain/events.js';
import type { LogRecord, OutRecord } from '../log/types.js';

export const HEADER_TYPE = 'type';
export const HEADER_INTENT_ID = 'intent_id';
/** On every event about one order. */
export const HEADER_CLIENT_ORDER_ID = 'client_order_id';
/** On the order status events: OrderSubmitted, OrderAcked, OrderCanceled, OrderRejected, OrderExpired. */
export const HEADER_TS = 'ts';
/** On OrderAcked. */
export const HEADER_VENUE_ORDER_ID = 'venue_order_id';

export function toRecord(event: Event, recordedAt: string): OutRecord {
  event.recorded_at = recordedAt;
  return {
    topic: EVENT_TOPIC[event.type],
    key: event.account || null,
    value: JSON.stringify(event),
    headers: headersOf(event),
    decoded: event,
  };
}

// Always in this order (type, intent_id, client_order_id, ts, venue_order_id): the log's reader
// reuses the header names of the previous record by position.
function headersOf(e: Event): Record<string, string> {
  switch (e.type) {
    case 'OrderRouted':
      return { [HEADER_TYPE]: e.type, [HEADER_INTENT_ID]: e.intent_id, [HEADER_CLIENT_ORDER_ID]: e.data.order.client_order_id };
    case 'OrderFilled':
    case 'OrderAnomaly':
    case 'FillDuplicate':
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
