// Given / when / then for deciders (src/domain/decider.ts): given these events, folded with
// `evolve` from the initial state, when this command, then these events. Every use also holds
// the decider to its contract, so each test guards it too: `decide` leaves the state as it was
// and gives the same events twice; `evolve` leaves its input as it was (and the events); an
// in-place fold reaches the state `evolve` returns. A failed check names itself.
import assert from 'node:assert/strict';
import { inspect, isDeepStrictEqual } from 'node:util';

/**
 * A decider as the tests drive it. `F` is what `evolve` folds (the decider's events, or facts a
 * restore reads from record headers), `E` what `decide` gives; the decider's own events fold.
 */
export interface TestedDecider<C, S, F, E extends F> {
  initialState(): S;
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: F): S;
  evolveInPlace?(state: S, event: F): S;
}

/** What an expected event (or state) names: only these fields are compared, recursively; a RegExp matches a string; arrays compare whole. */
export type Pattern<T> = T extends string ? T | RegExp : T extends readonly unknown[] ? T : T extends object ? { readonly [K in keyof T]?: Pattern<T[K]> } : T;

/** The events a rejection is: a dead letter, a risk reject, an order anomaly. */
export type Rejection<E> = Extract<E, { type: 'DeadLetter' | 'RiskRejected' | 'OrderAnomaly' }>;
/** A rejection's reason code: `data.code`, or an anomaly's `data.kind`. */
export type RejectionCode<R> = R extends { type: 'OrderAnomaly'; data: { kind: infer K } } ? K : R extends { data: { code: infer K } } ? K : never;
/** The rejections that can carry `code`. */
export type RejectedWith<E, K> = Rejection<E> extends infer R ? (R extends unknown ? (K extends RejectionCode<R> ? R : never) : never) : never;

export interface Given<C, S, E> {
  /** The state the given events fold to. */
  readonly state: S;
  when(command: C): When<S, E>;
}

/**
 * What `decide` gave. Not a promise, though it has a `then`: return or await the result of
 * `.then(...)`, never the When itself.
 */
export interface When<S, E> {
  readonly events: readonly E[];
  /** The state after the given events and then the decided ones. */
  readonly state: S;
  /** Asserts the events one for one against `expected` (and their count); returns them. */
  then(...expected: Pattern<E>[]): readonly E[];
  thenNothing(): void;
  /** Asserts one event, a rejection with this code (and a reason matching `reason`); returns it. */
  thenRejected<K extends RejectionCode<Rejection<E>>>(code: K, reason?: RegExp): RejectedWith<E, K>;
}

export function given<C, S, F, E extends F>(decider: TestedDecider<C, S, F, E>, ...events: NoInfer<F>[]): Given<C, S, E> {
  const state = checkedFold(decider, events, 'given');
  return {
    state,
    when(command: C): When<S, E> {
      const before = snapshot(state);
      const decided = decider.decide(command, state);
      same(snapshot(state), before, 'when: decide changed the state it decided on');
      same(snapshot(decider.decide(command, state)), snapshot(decided), 'when: decide is not deterministic: the same command and state gave other events the second time');
      // The decider's own events must fold (an adapter folds them right after deciding), under the same checks.
      const after = checkedFold(decider, [...events, ...decided], 'when (the given events, then the decided ones)');
      return whenOf(decided, after);
    },
  };
}

function whenOf<S, E>(events: readonly E[], state: S): When<S, E> {
  return {
    events,
    state,
    then(...expected: Pattern<E>[]): readonly E[] {
      if (expected.some((p) => typeof p === 'function')) {
        assert.fail('then: a When is not a promise: do not await or return it, call .then(...expected events) on it');
      }
      if (events.length !== expected.length) assert.fail(`then: expected ${expected.length} event(s), decide gave ${events.length}: ${typesOf(events)}`);
      events.forEach((e, i) => {
        const wrong: string[] = [];
        mismatches(e, expected[i], '', wrong);
        if (wrong.length > 0) assert.fail(`then: event #${i} (${typeOf(e)}) does not match:\n  ${wrong.join('\n  ')}\nactual: ${show(e)}`);
      });
      return events;
    },
    thenNothing(): void {
      if (events.length !== 0) assert.fail(`thenNothing: decide gave ${events.length} event(s): ${typesOf(events)}\n${show(events)}`);
    },
    thenRejected<K extends RejectionCode<Rejection<E>>>(code: K, reason?: RegExp): RejectedWith<E, K> {
      if (events.length !== 1) assert.fail(`thenRejected: expected one rejection (${String(code)}), decide gave ${events.length} event(s): ${typesOf(events)}`);
      const e = events[0];
      if (!isRejection(e)) assert.fail(`thenRejected: expected a rejection (${String(code)}), got ${typeOf(e)}: ${show(e)}`);
      const got = e.type === 'OrderAnomaly' ? e.data.kind : e.data.code;
      if (got !== code) assert.fail(`thenRejected: ${e.type} has code ${String(got)}, expected ${String(code)} (reason: ${String(e.data.reason)})`);
      if (reason && (typeof e.data.reason !== 'string' || e.data.reason.search(reason) < 0)) {
        assert.fail(`thenRejected: ${e.type} ${String(code)} has reason ${show(e.data.reason)}, which does not match ${reason}`);
      }
      return e as RejectedWith<E, K>;
    },
  };
}

/** Asserts that `actual` has the fields `pattern` names (as `then` compares an event). */
export function assertMatch<T>(actual: T, pattern: Pattern<T>, what = 'value'): void {
  const wrong: string[] = [];
  mismatches(actual, pattern, '', wrong);
  if (wrong.length > 0) assert.fail(`${what} does not match:\n  ${wrong.join('\n  ')}\nactual: ${show(actual)}`);
}

/**
 * Folds `events` with `evolve` from the initial state, checking at each step that evolve left its
 * input state (and the events) as they were and that `evolveInPlace`, where the decider has it,
 * reaches the same state from a fresh initial state.
 */
function checkedFold<S, F>(decider: Pick<TestedDecider<unknown, S, F, never>, 'initialState' | 'evolve' | 'evolveInPlace'>, events: readonly F[], where: string): S {
  const eventsBefore = snapshot(events);
  let s = decider.initialState();
  let owned = decider.evolveInPlace ? decider.initialState() : undefined;
  events.forEach((e, i) => {
    const at = `${where}: event #${i} (${typeOf(e)})`;
    const before = snapshot(s);
    const next = decider.evolve(s, e);
    same(snapshot(s), before, `${at}: evolve changed its input state`);
    if (decider.evolveInPlace) {
      owned = decider.evolveInPlace(owned as S, e);
      same(snapshot(owned), snapshot(next), `${at}: the evolveInPlace fold differs from the evolve fold`);
    }
    s = next;
  });
  same(snapshot(events), eventsBefore, `${where}: folding changed the events it folded`);
  return s;
}

// ---- canonical snapshots ------------------------------------------------------------------

export type Snapshot = undefined | null | boolean | number | string | readonly Snapshot[] | { readonly [key: string]: Snapshot };

/**
 * A plain, comparable copy of any state here: a Map or Set becomes its entries in insertion
 * order (the order is state too: folds and views list them in it), a bigint its text, a class
 * instance (a Dec) its class name and fields, bytes their hex. Compare two with deepStrictEqual.
 */
export function snapshot(value: unknown): Snapshot {
  return snap(value, new Set());
}

function snap(v: unknown, path: Set<object>): Snapshot {
  switch (typeof v) {
    case 'undefined':
    case 'boolean':
    case 'number':
    case 'string':
      return v;
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function':
      return `[function ${v.name}]`;
    case 'object':
      break;
  }
  if (v === null) return null;
  const o = v;
  if (path.has(o)) return '[circular]';
  path.add(o);
  try {
    if (Array.isArray(o)) return o.map((x) => snap(x, path));
    if (o instanceof Map) return { $map: [...o].map(([k, x]) => [snap(k, path), snap(x, path)]) };
    if (o instanceof Set) return { $set: [...o].map((x) => snap(x, path)) };
    if (o instanceof Date) return { $date: o.toISOString() };
    if (ArrayBuffer.isView(o)) return { $bytes: Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('hex') };
    // fromEntries defines own properties, so a key such as "__proto__" stays data.
    const fields = Object.entries(o).map(([k, x]): [string, Snapshot] => [k, snap(x, path)]);
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null) return Object.fromEntries(fields);
    return Object.fromEntries([['$class', (o.constructor as { name?: string } | undefined)?.name ?? '?'], ...fields]);
  } finally {
    path.delete(o);
  }
}

// ---- comparing and telling -----------------------------------------------------------------

function same(actual: Snapshot, expected: Snapshot, check: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  let diff = '';
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (e) {
    diff = (e as Error).message;
  }
  assert.fail(`${check}\n${diff}`);
}

function mismatches(actual: unknown, pattern: unknown, path: string, out: string[]): void {
  const at = path || '(the whole value)';
  if (pattern instanceof RegExp) {
    if (typeof actual !== 'string' || actual.search(pattern) < 0) out.push(`${at}: expected a string matching ${pattern}, got ${show(actual)}`);
    return;
  }
  const plain = pattern !== null && typeof pattern === 'object' && !Array.isArray(pattern) && [Object.prototype, null].includes(Object.getPrototypeOf(pattern));
  if (!plain) {
    if (!isDeepStrictEqual(actual, pattern)) out.push(`${at}: expected ${show(pattern)}, got ${show(actual)}`);
    return;
  }
  if (actual === null || typeof actual !== 'object') {
    out.push(`${at}: expected an object, got ${show(actual)}`);
    return;
  }
  for (const [key, p] of Object.entries(pattern)) {
    mismatches(Object.hasOwn(actual, key) ? (actual as Record<string, unknown>)[key] : undefined, p, path ? `${path}.${key}` : key, out);
  }
}

function isRejection(
  e: unknown,
): e is { type: 'DeadLetter' | 'RiskRejected'; data: { code: unknown; reason: unknown } } | { type: 'OrderAnomaly'; data: { kind: unknown; reason: unknown } } {
  const t = typeOf(e);
  return (t === 'DeadLetter' || t === 'RiskRejected' || t === 'OrderAnomaly') && typeof (e as { data?: unknown }).data === 'object';
}

function typeOf(e: unknown): string {
  return e !== null && typeof e === 'object' && 'type' in e && typeof e.type === 'string' ? e.type : typeof e;
}

const typesOf = (events: readonly unknown[]) => `[${events.map(typeOf).join(', ')}]`;
const show = (v: unknown) => inspect(v, { depth: 6, breakLength: Infinity });
