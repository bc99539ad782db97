// The broker the Kafka tests use: KAFKA_BROKERS, set by `make test` (infra/dev/services.sh).
export function kafkaBrokers(): string[] {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: run the Kafka tests through `make test`, which starts a broker');
  return brokers;
}
