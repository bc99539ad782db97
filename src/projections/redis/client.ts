// The one place ioredis is loaded. ioredis declares `class VerbatimString extends String`; until
// that class has made an instance, V8 treats String.prototype as unstable and every optimized
// charCodeAt/indexOf/JSON text scan in the process runs 5-7x slower (measured on Node 20: a
// 556-char scan from 1.0 to 7 µs). Making one instance at load puts String.prototype back on the
// fast path, for every stage of a process that merely imports the projector.
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';

export { Redis };

try {
  const { VerbatimString } = createRequire(import.meta.url)('ioredis/built/resp/verbatim-string.js') as {
    VerbatimString: new (format: string, value: string) => unknown;
  };
  new VerbatimString('txt', '');
} catch {
  // A later ioredis without this class (or this path): nothing to settle.
}

export function connectRedis(url: string): Redis {
  // Commands wait (queued) while Redis is away and are retried on reconnect; a write that fails
  // for good rejects, which stops the projector: its restart resumes from the watermarks.
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, enableAutoPipelining: false, connectionName: 'fillstream' });
}

/** Keys starting with `prefix` (glob characters in it taken literally), in SCAN pages. */
export async function* scanPrefix(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  const match = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    if (keys.length) yield keys;
  } while (cursor !== '0');
}
