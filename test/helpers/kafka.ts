import { WIRE_HEADER_BYTES, wireSchemaId } from '../../src/domain/wire.js';

// The broker the Kafka tests use: KAFKA_BROKERS, set by `make test` (infra/dev/services.sh).
export function kafkaBrokers(): string[] {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: run the Kafka tests through `make test`, which starts a broker');
  return brokers;
}

// The schema registry (Apicurio Registry's Confluent-compatible API): SCHEMA_REGISTRY_URL, set by `make test`.
export function schemaRegistryUrl(): string {
  const url = process.env.SCHEMA_REGISTRY_URL ?? '';
  if (url === '') throw new Error('SCHEMA_REGISTRY_URL is not set: run the registry tests through `make test`, which starts Apicurio Registry');
  return url;
}

/** An event record's JSON: framed in the Confluent wire format when the tests run with a registry. */
export function unframed(value: Buffer): Buffer {
  return wireSchemaId(value) === undefined ? value : value.subarray(WIRE_HEADER_BYTES);
}
