// The one place ioredis is loaded. ioredis declares `class VerbatimString extends String`; until
// that class has made an instance, V8 treats String.prototype as unstable and every optimized
// charCodeAt/indexOf/JSON text scan in the process runs 5-7x slower (measured on Node 20: a
// 556-char scan from 1.0 to 7 µs). Making one instance at load puts String.prototype back on the
// fast path, for every stage of a process that merely imports the projector.
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { firstLine, PermanentFault, serverName, type Classify } from '../../domain/faults.js';

export { Redis };

try {
  const { VerbatimString } = createRequire(import.meta.url)('ioredis/built/resp/verbatim-string.js') as {
    VerbatimString: new (format: string, value: string) => unknown;
  };
  new VerbatimString('txt', '');
} catch {
  // A later ioredis without this class (or this path): nothing to settle.
}

/** Redis replies no reconnect fixes, with what does. */
const PERMANENT_REPLIES: [RegExp, string][] = [
  [/^(WRONGPASS|NOAUTH)/, 'check the user and password in REDIS_URL'],
  [/^NOPERM/, "grant REDIS_URL's user the commands and keys of the projection (its key prefix)"],
];

/** The permanent reading of a Redis error, if any. */
export function redisFault(server: string): Classify {
  return (e) => {
    const m = firstLine(e);
    const hit = PERMANENT_REPLIES.find(([re]) => re.test(m));
    return hit ? new PermanentFault(server, m, hit[1], { cause: e }) : undefined;
  };
}

/** What a connection met that no reconnect fixes, once it has. */
const faults = new WeakMap<Redis, PermanentFault>();
export const permanentFaultOf = (redis: Redis): PermanentFault | undefined => faults.get(redis);

/**
 * Commands wait (queued) while Redis is away and go out on reconnect, with a line on stderr at
 * most every 5 s while it is away. A refused password or permission ends the connection, failing
 * what waits (see permanentFaultOf). When `signal` aborts (the process stops), commands still
 * waiting after a short grace are failed too: they are replayed from the watermarks on restart.
 */
export function connectRedis(url: string, o: { signal?: AbortSignal } = {}): Redis {
  // Commands in flight when a connection drops are sent again on reconnect, though Redis may have
  // run them (an answer lost): the projector's apply script recognises a batch already applied.
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, enableAutoPipelining: false, connectionName: 'fillstream' });
  const server = serverName('Redis', url);
  const classify = redisFault(server);
  let lastLine = -Infinity;
  redis.on('error', (e: unknown) => {
    const permanent = classify(e);
    if (permanent) {
      faults.set(redis, permanent);
      redis.disconnect();
      return;
    }
    if (performance.now() - lastLine < 5_000) return;
    lastLine = performance.now();
    process.stderr.write(`fillstream: ${server}: ${firstLine(e)}; reconnecting\n`);
  });
  o.signal?.addEventListener(
    'abort',
    () => {
      const cut = () => {
        if (redis.status !== 'end') redis.disconnect();
      };
      if (redis.status === 'ready') setTimeout(cut, STOP_GRACE_MS).unref();
      else cut();
    },
    { once: true },
  );
  return redis;
}

/** How long a stopping process lets a write in flight to a connected Redis finish. */
const STOP_GRACE_MS = 2_000;

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
