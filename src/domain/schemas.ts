// JSON Schemas of the public contracts, generated from the zod schemas (the single source of truth).
import { z } from 'zod';
import { DeadLetter, Event, Fill, NormalizedIntent, Order, RiskPolicy, VenueReport } from './events.js';
import { ChainIntent, Intent, OrderChangeIntent } from './intent.js';
import { VenuesFile } from './venues.js';
import { RouteWindowsFile } from './route-windows.js';

const ID_BASE = 'https://fillstream.dev/schemas/';

function schema(name: string, s: z.ZodType, title: string, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $id: ID_BASE + name, title, ...json };
}

/** File name → schema. */
export function jsonSchemas(): Record<string, Record<string, unknown>> {
  return {
    'intent.schema.json': schema('intent.schema.json', Intent, 'fillstream intent (exec.intents)', 'input'),
    'order-change.schema.json': schema(
      'order-change.schema.json',
      OrderChangeIntent,
      'fillstream cancel or amend of an earlier intent (exec.intents, kind cancel | amend)',
      'input',
    ),
    'chain.schema.json': schema('chain.schema.json', ChainIntent, 'fillstream multi-leg chain (exec.intents, kind chain)', 'input'),
    'event.schema.json': schema('event.schema.json', Event, 'fillstream event (exec.risk, exec.router, exec.gateway, exec.audit, exec.dlq)'),
    'normalized-intent.schema.json': schema('normalized-intent.schema.json', NormalizedIntent, 'normalized intent'),
    'order.schema.json': schema('order.schema.json', Order, 'order'),
    'fill.schema.json': schema('fill.schema.json', Fill, 'fill'),
    'execution-report.schema.json': schema('execution-report.schema.json', VenueReport, 'venue execution report'),
    'risk-policy.schema.json': schema('risk-policy.schema.json', RiskPolicy, 'risk policy', 'input'),
    'venues.schema.json': schema('venues.schema.json', VenuesFile, 'fillstream venues file (run --venues)', 'input'),
    'route-windows.schema.json': schema('route-windows.schema.json', RouteWindowsFile, "fillstream venues' trading windows (FILLSTREAM_ROUTE_WINDOWS)", 'input'),
    'dead-letter.schema.json': schema('dead-letter.schema.json', DeadLetter, 'dead letter (exec.dlq)'),
  };
}
