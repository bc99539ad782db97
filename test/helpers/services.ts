// Redis and ClickHouse from `make test` (infra/dev/services.sh), taken out of this process's
// environment as soon as any helper loads: the CLI runs a test starts inherit the environment, and
// a run with REDIS_URL or CLICKHOUSE_URL would project into a store other tests' logs share. Tests
// of the projector and the journal hand these to their runs explicitly.
export const SERVICES = { redisUrl: process.env.REDIS_URL ?? '', clickhouseUrl: process.env.CLICKHOUSE_URL ?? '' };
delete process.env.REDIS_URL;
delete process.env.CLICKHOUSE_URL;
