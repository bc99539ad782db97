// The Redis the projection tests use: REDIS_URL, set by `make test` (infra/dev/services.sh).
import { randomUUID } from 'node:crypto';
import { SERVICES } from './services.js';

export function redisUrl(): string {
  const url = SERVICES.redisUrl;
  if (url === '') throw new Error('REDIS_URL is not set: run the Redis tests through `make test`, which starts redis-server');
  return url;
}

/** A key prefix of its own per test, so tests never see each other's projections. */
export const freshRedisPrefix = (): string => `fstest:${randomUUID().slice(0, 8)}:`;
