// The step every stage adapter takes per input: decide, fold the events into the stage's own
// state, and queue them as records to commit with the batch's offsets.
import type { Decider, InPlaceDecider } from '../domain/decider.js';
import type { Event } from '../domain/events.js';
import type { OutRecord } from '../log/types.js';
import { toRecord } from './codec.js';

/**
 * Decides `command` on `state`, appends the events to `out` as records (written at `recordedAt`,
 * children of the `trace` of the input) and returns the state after them. The stage owns its
 * state, so an in-place decider folds it in place.
 */
export function decideInto<C, S, E extends Event & F, F>(
  decider: Decider<C, S, E, F> | InPlaceDecider<C, S, E, F>,
  state: S,
  command: C,
  out: OutRecord[],
  recordedAt: string,
  trace: string | undefined,
): S {
  const inPlace = 'evolveInPlace' in decider;
  let s = state;
  for (const e of decider.decide(command, s)) {
    s = inPlace ? decider.evolveInPlace(s, e) : decider.evolve(s, e);
    out.push(toRecord(e, recordedAt, trace));
  }
  return s;
}
