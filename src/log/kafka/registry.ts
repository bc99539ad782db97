// The Confluent wire format through a schema registry (SCHEMA_REGISTRY_URL): a value is the magic
// byte 0, the schema id (4 bytes, big-endian), then the JSON payload. With a registry, fillstream
// registers its JSON Schemas under the TopicNameStrategy subjects (`<topic>-value`) and frames every
// event it writes; on read it strips the frame once the registry knows the id. Plain JSON (an agent
// without a registry, kcat) is read as before, so both kinds can share a topic.
import { PermanentFault } from '../../domain/faults.js';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ALL_TOPICS, TOPICS } from '../../domain/events.js';
import { jsonSchemas } from '../../domain/schemas.js';
import { WIRE_HEADER_BYTES, frame, wireSchemaId } from '../../domain/wire.js';
import type { LogRecord } from '../types.js';

export { WIRE_HEADER_BYTES };

/** Strips the frame of every record in the wire format (reading without a registry: the payload is JSON). */
export function stripAll(records: LogRecord[]): void {
  for (const r of records) if (wireSchemaId(r.value) !== undefined) r.value = r.value.subarray(WIRE_HEADER_BYTES);
}

export interface RegisteredTopic {
  /** Logical topic name (exec.gateway). */
  topic: string;
  /** The registry subject, `<physical topic>-value`. */
  subject: string;
  schema: Record<string, unknown>;
}

/** exec.intents carries intents; every other log topic carries events (exec.control is internal). */
export function registeredTopics(physical: (topic: string) => string): RegisteredTopic[] {
  const schemas = jsonSchemas();
  return ALL_TOPICS.map((topic) => ({
    topic,
    subject: `${physical(topic)}-value`,
    schema: schemas[topic === TOPICS.intents ? 'intent.schema.json' : 'event.schema.json'],
  }));
}

/**
 * Our schemas are draft 2020-12 (the library's default Ajv is draft-07). A fresh Ajv per schema: a
 * new version of a schema keeps its `$id`, which one shared Ajv would refuse to compile twice.
 */
const ajvPerSchema = {
  addSchema(): never {
    throw new Error('fillstream registers no schema references');
  },
  compile: (schema: unknown) => new Ajv2020({ strict: false, validateFormats: false, allErrors: true }).compile(schema as object),
};

/**
 * POST /subjects/{subject}/versions, which answers the existing id when the subject already holds
 * this schema, so concurrent stage processes all get the same id. Done here rather than with the
 * library's register(), which first compares the subject's compatibility setting with its own and
 * fails when another process is registering at the same moment; the registry's own rules (set by
 * the operator) decide whether a changed schema may become a new version.
 */
/** Registry answers no retry fixes, with what does. */
const REGISTRY_FIXES = new Map<number, string>([
  [409, "the schema is incompatible with the subject's versions under its compatibility rule: relax the subject's compatibility, or give fillstream's topics another prefix"],
  [422, 'the registry refuses the schema as invalid'],
  [401, 'check the credentials in SCHEMA_REGISTRY_URL'],
  [403, "grant SCHEMA_REGISTRY_URL's user write on the subjects"],
]);

async function registerSchema(url: string, subject: string, schema: string): Promise<number> {
  const body = JSON.stringify({ schemaType: 'JSON', schema });
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${url.replace(/\/+$/, '')}/subjects/${encodeURIComponent(subject)}/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/vnd.schemaregistry.v1+json, application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 200 * attempt));
      continue;
    }
    const text = await res.text();
    if (res.ok) {
      const id = (JSON.parse(text) as { id?: unknown }).id;
      if (typeof id !== 'number') throw new Error(`the registry answered without an id: ${text.slice(0, 200)}`);
      return id;
    }
    if (res.status >= 500 && attempt < 5) {
      await new Promise((r) => setTimeout(r, 200 * attempt));
      continue;
    }
    const fix = REGISTRY_FIXES.get(res.status);
    if (fix) throw new PermanentFault(`Schema registry ${url}`, `subject ${subject}: HTTP ${res.status}: ${text.slice(0, 300)}`, fix);
    throw new Error(`HTTP ${res.status}: ${text.slice(0, 500)}`);
  }
}

/** Client options for our draft 2020-12 schemas (for any @kafkajs/confluent-schema-registry client). */
export const JSON_SCHEMA_2020 = { [SchemaType.JSON]: { ajvInstance: ajvPerSchema } };

const isNotFound = (e: unknown) => typeof e === 'object' && e !== null && (e as { status?: unknown }).status === 404;

export class RegistryWire {
  private readonly idOf = new Map<string, number>();
  /** Ids the registry confirmed (ours and other producers'). */
  private readonly known = new Set<number>();

  private constructor(
    readonly url: string,
    private readonly registry: SchemaRegistry,
  ) {}

  /** Registers each topic's schema under its subject (or finds it there), and keeps the ids. */
  static async open(url: string, topics: RegisteredTopic[]): Promise<RegistryWire> {
    const registry = new SchemaRegistry({ host: url, clientId: 'fillstream', retry: { retries: 5 } }, JSON_SCHEMA_2020);
    const wire = new RegistryWire(url, registry);
    for (const t of topics) {
      const id = await registerSchema(url, t.subject, JSON.stringify(t.schema)).catch((e: unknown) => {
        throw new Error(`schema registry ${url}: could not register the schema of ${t.topic} under subject ${t.subject}: ${(e as Error).message}`, { cause: e });
      });
      wire.idOf.set(t.topic, id);
      wire.known.add(id);
    }
    return wire;
  }

  schemaIdOf(topic: string): number | undefined {
    return this.idOf.get(topic);
  }

  /**
   * The value framed with its topic's schema id. Unchanged on exec.control (internal) and on
   * exec.intents: the intake forwards producer input as it came, bad lines included, and framing a
   * line the schema refuses would claim what is not so.
   */
  encode(topic: string, value: Buffer | string): Buffer | string {
    if (topic === TOPICS.intents) return value;
    const id = this.idOf.get(topic);
    return id === undefined ? value : frame(id, value);
  }

  /**
   * Strips the frame of each record whose schema id the registry knows, asking it about new ids
   * first. A record with an id the registry has never issued keeps its frame, so the normalizer
   * dead-letters it with that reason. An unreachable registry throws: the batch is retried, not lost.
   */
  async unwrap(records: LogRecord[]): Promise<void> {
    const missing = new Set<number>();
    for (const r of records) {
      const id = wireSchemaId(r.value);
      if (id === undefined || missing.has(id)) continue;
      if (!this.known.has(id) && !(await this.lookUp(id))) {
        missing.add(id);
        continue;
      }
      r.value = r.value.subarray(WIRE_HEADER_BYTES);
    }
  }

  private async lookUp(id: number): Promise<boolean> {
    try {
      await this.registry.getSchema(id);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw new Error(`schema registry ${this.url}: could not look up schema id ${id}: ${(e as Error).message}`, { cause: e });
    }
    this.known.add(id);
    return true;
  }

  /** Decodes a framed value the way any Confluent JSON Schema consumer would (validating it). */
  decode(value: Buffer): Promise<unknown> {
    return this.registry.decode(value);
  }
}
