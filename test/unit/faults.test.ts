// Retries at the seams: transient faults are retried with capped, jittered back-off; permanent ones
// stop at once with the fix named; a stop request ends a retry at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { ProtocolError } from '@platformatic/kafka';
import { backoffDelay, isNetworkError, PermanentFault, permanentIn, retrying, stopIn, StopRequested } from '../../src/domain/faults.js';
import { clickhouseFault } from '../../src/audit/clickhouse.js';
import { redisFault } from '../../src/projections/redis/client.js';
import { kafkaFault } from '../../src/log/kafka/common.js';

const transient = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

test('back-off doubles from the first pause up to the cap, each pause drawn in its upper half', () => {
  for (const r of [0, 0.5, 0.999]) {
    const d = [0, 1, 2, 3, 10, 60].map((a) => backoffDelay(a, 100, 5_000, () => r));
    const full = [100, 200, 400, 800, 5_000, 5_000];
    d.forEach((x, i) => assert.ok(x >= full[i] / 2 && x <= full[i], `attempt ${i}: ${x} within [${full[i] / 2}, ${full[i]}]`));
  }
  assert.equal(
    backoffDelay(0, 100, 5_000, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(40, 100, 5_000, () => 0.999),
    4_998,
  );
});

test('a transient fault is retried, each retry announced with the server and the next attempt', async () => {
  let calls = 0;
  const lines: string[] = [];
  const got = await retrying(
    () => {
      calls++;
      return calls < 4 ? Promise.reject(transient()) : Promise.resolve('stored');
    },
    { server: 'ClickHouse http://127.0.0.1:9', classify: () => undefined, minDelayMs: 1, maxDelayMs: 4, onRetry: (line) => lines.push(line) },
  );
  assert.equal(got, 'stored');
  assert.equal(calls, 4);
  assert.deepEqual(
    lines.map((l) => l.replace(/in \d+ ms/, 'in N ms')),
    [2, 3, 4].map((n) => `ClickHouse http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9; attempt ${n} in N ms`),
  );
});

test('a permanent fault stops at once, and `before` runs ahead of retries only', async () => {
  let calls = 0;
  let befores = 0;
  const fault = new PermanentFault('ClickHouse x', "Database fillstream doesn't exist", 'run `fillstream audit migrate`');
  await assert.rejects(
    retrying(
      () => {
        calls++;
        return Promise.reject(calls === 1 ? transient() : new Error('Code: 81. DB::Exception'));
      },
      { server: 'x', classify: (e) => ((e as Error).message.startsWith('Code: 81') ? fault : undefined), minDelayMs: 1, before: async () => void befores++ },
    ),
    (e: unknown) => e === fault,
  );
  assert.equal(calls, 2);
  assert.equal(befores, 1);
  assert.match(fault.message, /^ClickHouse x: Database fillstream doesn't exist; run `fillstream audit migrate`$/);
});

test('a stop ends a retry in its pause, at once, as StopRequested with the last fault as cause', async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  const done = retrying(() => Promise.reject(transient()), { server: 'Redis r', classify: () => undefined, minDelayMs: 60_000, signal: ac.signal, onRetry: () => {} });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(done, (e: unknown) => e instanceof StopRequested && isNetworkError(e.cause));
  assert.ok(performance.now() - t0 < 5_000, 'did not wait out the 60 s pause');
  const wrapped = new Error('sink failed', { cause: new StopRequested('Redis r') });
  assert.ok(stopIn(wrapped));
  assert.equal(permanentIn(wrapped), undefined);
});

test('ClickHouse: missing journal, refused user or grant are permanent with the fix; outages and other errors are not', () => {
  const c = clickhouseFault('ClickHouse http://h:8123');
  // 18.16 and current servers word their errors differently; both carry the code.
  const old = c(new Error("Code: 81, e.displayText() = DB::Exception: Database fillstream doesn't exist, e.what() = DB::Exception"));
  assert.ok(old instanceof PermanentFault);
  assert.match(old.message, /Database fillstream doesn't exist.*fillstream audit migrate.*--migrate/);
  assert.match(c(new Error('Code: 60. DB::Exception: Table fillstream.audit_events does not exist. (UNKNOWN_TABLE)'))?.fix ?? '', /audit migrate/);
  assert.match(c(new Error('Code: 516. DB::Exception: default: Authentication failed (AUTHENTICATION_FAILED)'))?.fix ?? '', /user and password in CLICKHOUSE_URL/);
  assert.match(c(new Error('Code: 497. DB::Exception: Not enough privileges (ACCESS_DENIED)'))?.fix ?? '', /grant/);
  assert.equal(c(transient()), undefined);
  assert.equal(c(new Error('Code: 159. DB::Exception: Timeout exceeded (TIMEOUT_EXCEEDED)')), undefined);
  assert.equal(c(new Error('socket hang up')), undefined);
});

test('Redis: a refused password or permission is permanent; a refused connection is not', () => {
  const r = redisFault('Redis redis://h:6379');
  assert.match(r(new Error('WRONGPASS invalid username-password pair or user is disabled.'))?.fix ?? '', /REDIS_URL/);
  assert.match(r(new Error('NOAUTH Authentication required.'))?.fix ?? '', /password/);
  assert.match(r(new Error("NOPERM this user has no permissions to run the 'hset' command"))?.fix ?? '', /grant/);
  assert.equal(r(transient()), undefined);
  assert.equal(r(new Error('LOADING Redis is loading the dataset in memory')), undefined);
});

test('Kafka: authorization failures from either client are permanent, found inside retry wrappers; leader moves are not', () => {
  const k = kafkaFault('Kafka 127.0.0.1:9092');
  const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded } = kafkajs as unknown as {
    KafkaJSProtocolError: new (e: unknown) => Error;
    KafkaJSNumberOfRetriesExceeded: new (e: Error, o: object) => Error;
  };
  const denied = new KafkaJSProtocolError({
    type: 'TOPIC_AUTHORIZATION_FAILED',
    code: 29,
    retriable: false,
    message: 'Not authorized to access topics: [Topic authorization failed]',
  });
  const wrapped = new KafkaJSNumberOfRetriesExceeded(denied, { retryCount: 5, retryTime: 100 });
  assert.match(k(wrapped)?.message ?? '', /TOPIC_AUTHORIZATION_FAILED.*ACLs/);
  assert.match(k(new ProtocolError('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'))?.fix ?? '', /transactional ids/);
  assert.match(k(new AggregateError([transient(), new ProtocolError('GROUP_AUTHORIZATION_FAILED')]))?.fix ?? '', /consumer groups/);
  assert.equal(k(new ProtocolError('NOT_LEADER_OR_FOLLOWER')), undefined);
  assert.equal(k(new KafkaJSProtocolError({ type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true, message: 'This server does not host this topic-partition' })), undefined);
  assert.equal(k(transient()), undefined);
});

test('an attempt in flight when the stop comes may finish within the grace; one that hangs is left as StopRequested', async () => {
  const ac = new AbortController();
  const quick = retrying(() => new Promise<string>((r) => setTimeout(() => r('stored'), 100)), { server: 's', classify: () => undefined, signal: ac.signal, stopGraceMs: 1_000 });
  ac.abort();
  assert.equal(await quick, 'stored', 'a write already sent completes after the stop');
  const ac2 = new AbortController();
  const t0 = performance.now();
  const hung = retrying(() => new Promise<string>(() => {}), { server: 'ClickHouse h', classify: () => undefined, signal: ac2.signal, stopGraceMs: 200 });
  setTimeout(() => ac2.abort(), 20);
  await assert.rejects(hung, (e: unknown) => e instanceof StopRequested && /ClickHouse h: stopped/.test(e.message));
  assert.ok(performance.now() - t0 < 2_000);
});
