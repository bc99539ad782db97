// The one shape of every stage's logic. A decider is pure: what it decides follows from the
// command and the state alone, so replay, backtest and crash recovery run the same code as live.

/**
 * `decide` turns a command into events and never changes `state`; `evolve` folds one event into
 * the state and returns the state after it, leaving its input as it was. State is the fold of the
 * decider's own events from `initialState()`. Context a decision needs (instrument rules, the book
 * at the event's time, when a message arrived) travels in the command, never as extra parameters.
 * `Fact` is what `evolve` takes: the decider's events, or more (e.g. other stages' events, or an
 * event as its record headers tell it, so a restore folds it unparsed through the same evolve).
 */
export interface Decider<Command, State, Ev extends Fact, Fact = Ev> {
  initialState(): State;
  decide(command: Command, state: State): Ev[];
  evolve(state: State, event: Fact): State;
}

/**
 * A decider whose folds may also update their state in place, for adapters that own their state
 * on a measured hot path (a copy per event would make a long fold quadratic). `evolveInPlace`
 * reaches the state `evolve` returns; a property test of each such decider holds the two equal.
 */
export interface InPlaceDecider<Command, State, Ev extends Fact, Fact = Ev> extends Decider<Command, State, Ev, Fact> {
  /** Updates `state` itself and returns it (or, where the state is a value such as undefined, its successor). */
  evolveInPlace(state: State, event: Fact): State;
}
