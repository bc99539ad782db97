// Reads the few string fields the journal's columns need straight from an event's JSON text,
// validating the whole text as JSON.parse would but building no objects: the audit sink's cost
// per row was mostly JSON.parse and the garbage it leaves (a 550-byte event is ~40 objects).
// Semantics match `JSON.parse(text)`: the last of duplicate keys wins, and a path
// yields a value only if it is a string and every step to it is an object (never an array).

/** The fields picked, each a dotted path into the event. */
export const PICKED = [
  'event_id',
  'type',
  'intent_id',
  'account',
  'strategy',
  'ts',
  'recorded_at',
  'data.client_order_id',
  'data.venue',
  'data.venue_order_id',
  'data.code',
  'data.kind',
  'data.reason',
  'data.intent.sized_on',
  'data.intent.instrument_id',
  'data.intent.side',
  'data.intent.qty',
  'data.intent.ref_price',
  'data.intent.notional',
  'data.order.client_order_id',
  'data.order.venue',
  'data.order.instrument_id',
  'data.order.side',
  'data.order.qty',
  'data.order.ref_price',
  'data.fill.venue_order_id',
  'data.fill.venue',
  'data.fill.qty',
  'data.fill.price',
  'data.fill.fee',
  'data.fill.fee_ccy',
  'data.side',
  'data.qty',
  'data.filled_qty',
  'data.avg_price',
  'data.notional',
  'data.fee',
  'data.fee_ccy',
  'data.status',
  'data.error',
  'data.outcome',
  'data.free',
] as const;

export type PickedPath = (typeof PICKED)[number];
/** Slot of each path in a picks array. */
export const SLOT = Object.fromEntries(PICKED.map((p, i) => [p, i])) as Record<PickedPath, number>;
/** One entry per PICKED path: the string found there, or undefined. */
export type Picks = (string | undefined)[];

// A trie of the paths. `slots` lists every slot under a node: a later duplicate of its key clears them.
interface Node {
  next: Map<string, Node | number>;
  /** The names of `next` by length: a key is compared in place, never sliced out of the text. */
  byLength: string[][];
  slots: number[];
}

const newNode = (): Node => ({ next: new Map(), byLength: [], slots: [] });

function buildTrie(): Node {
  const root = newNode();
  PICKED.forEach((path, slot) => {
    let node = root;
    const steps = path.split('.');
    steps.forEach((name, depth) => {
      node.slots.push(slot);
      let n = node.next.get(name);
      if (n === undefined) {
        node.next.set(name, (n = depth === steps.length - 1 ? slot : newNode()));
        for (let l = node.byLength.length; l <= name.length; l++) node.byLength.push([]);
        node.byLength[name.length].push(name);
      }
      if (typeof n !== 'number') node = n;
    });
  });
  return root;
}

/** The member of `node` named by the key s(start, end) (quotes excluded, no escapes). */
function lookup(node: Node, s: string, start: number, end: number): Node | number | undefined {
  const names = node.byLength[end - start];
  if (names === undefined) return undefined;
  for (const name of names) if (s.startsWith(name, start)) return node.next.get(name);
  return undefined;
}

const ROOT = buildTrie();

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

class Invalid extends Error {}
const INVALID = new Invalid();

// Per text: where its next backslash is (strings before it have no escapes, the common case), and
// whether it has any control character (none: no string needs checking for one).
let nextBackslash = -1;
let controls = false;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f]/;
let plain = true;

/**
 * Whether the last text picked has neither a backslash nor a control character: then neither it
 * nor any string picked from it holds one (a JSON string can only spell them as escapes).
 */
export const lastTextPlain = (): boolean => plain;

/**
 * Fills `out` (length PICKED.length) with the picked strings of the JSON text `s`; returns false,
 * leaving every slot undefined, when the text is not valid JSON or not an object.
 */
export function pickEvent(s: string, out: Picks): boolean {
  out.fill(undefined);
  nextBackslash = s.indexOf('\\');
  controls = CONTROL.test(s);
  plain = nextBackslash < 0 && !controls;
  let i = ws(s, 0);
  if (s.charCodeAt(i) !== LBRACE) return false;
  try {
    i = ws(s, walk(s, i, out));
    if (i !== s.length) throw INVALID;
    return true;
  } catch (e) {
    if (e !== INVALID) throw e;
    out.fill(undefined);
    return false;
  }
}

function ws(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

// Containers are tracked on explicit stacks, so deep nesting cannot overflow the call stack.
const OBJECT = 0;
const ARRAY = 1;

/** Walks one JSON value starting at s[i] (an object); returns the index just past it. */
function walk(s: string, i: number, out: Picks): number {
  const kinds: number[] = [];
  const nodes: (Node | undefined)[] = [];
  // What the value about to be read is: a slot, a trie node, or nothing of interest.
  let target: Node | number | undefined = ROOT;
  for (;;) {
    // --- one value at s[i] ---
    i = ws(s, i);
    const c = s.charCodeAt(i);
    if (typeof target === 'number') out[target] = undefined;
    else if (target !== undefined && target !== ROOT) for (const slot of target.slots) out[slot] = undefined;
    if (c === LBRACE) {
      kinds.push(OBJECT);
      nodes.push(typeof target === 'object' ? target : undefined);
      i = ws(s, i + 1);
      if (s.charCodeAt(i) === RBRACE) {
        i++;
        kinds.pop();
        nodes.pop();
      } else {
        i = key(s, i, nodes[nodes.length - 1]);
        target = keyTarget;
        continue;
      }
    } else if (c === LBRACKET) {
      kinds.push(ARRAY);
      nodes.push(undefined);
      i = ws(s, i + 1);
      if (s.charCodeAt(i) === RBRACKET) {
        i++;
        kinds.pop();
        nodes.pop();
      } else {
        target = undefined;
        continue;
      }
    } else if (c === QUOTE) {
      const end = string(s, i);
      if (typeof target === 'number') out[target] = value(s, i, end);
      i = end;
    } else i = scalar(s, i);
    // --- after a value: close containers, or move to the next member ---
    for (;;) {
      if (kinds.length === 0) return i;
      i = ws(s, i);
      const d = s.charCodeAt(i);
      const kind = kinds[kinds.length - 1];
      if (d === COMMA) {
        if (kind === OBJECT) {
          i = key(s, ws(s, i + 1), nodes[nodes.length - 1]);
          target = keyTarget;
        } else {
          i++;
          target = undefined;
        }
        break;
      }
      if (d !== (kind === OBJECT ? RBRACE : RBRACKET)) throw INVALID;
      i++;
      kinds.pop();
      nodes.pop();
    }
  }
}

// Whether the last string read has an escape.
let escaped = false;

// key()'s second result: what the member's value is for.
let keyTarget: Node | number | undefined;

/** Reads `"name" :` at s[i]; returns where its value starts (and sets keyTarget). */
function key(s: string, i: number, node: Node | undefined): number {
  if (s.charCodeAt(i) !== QUOTE) throw INVALID;
  const end = string(s, i);
  if (node === undefined) keyTarget = undefined;
  else if (!escaped) keyTarget = lookup(node, s, i + 1, end - 1);
  else keyTarget = node.next.get(value(s, i, end));
  const j = ws(s, end);
  if (s.charCodeAt(j) !== COLON) throw INVALID;
  return j + 1;
}

/** Validates the string starting at the quote s[i]; returns the index past its closing quote. */
function string(s: string, i: number): number {
  const close = s.indexOf('"', i + 1);
  if (close < 0) throw INVALID;
  if (nextBackslash < i && nextBackslash >= 0) nextBackslash = s.indexOf('\\', i);
  escaped = nextBackslash >= 0 && nextBackslash < close;
  if (!escaped && !controls) return close + 1;
  // The careful way: escapes, or control characters somewhere in the text.
  for (i++; ;) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = s.charCodeAt(i + 1);
      if (e === 0x75) {
        for (let h = i + 2; h < i + 6; h++) if (!isHex(s.charCodeAt(h))) throw INVALID;
        i += 6;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) i += 2;
      else throw INVALID;
    } else if (!(c >= 0x20))
      throw INVALID; // NaN past the end, too
    else i++;
  }
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** The string value of the quoted text s[start, end), decoded as JSON.parse would. */
function value(s: string, start: number, end: number): string {
  return escaped ? (JSON.parse(s.slice(start, end)) as string) : s.slice(start + 1, end - 1);
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** Validates a number or literal at s[i]; returns the index past it. */
function scalar(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x74) return literal(s, i, 'true');
  if (c === 0x66) return literal(s, i, 'false');
  if (c === 0x6e) return literal(s, i, 'null');
  if (c === 0x2d) i++;
  if (s.charCodeAt(i) === 0x30) i++;
  else if (isDigit(s.charCodeAt(i))) while (isDigit(s.charCodeAt(i))) i++;
  else throw INVALID;
  if (s.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(s.charCodeAt(i))) throw INVALID;
    while (isDigit(s.charCodeAt(i))) i++;
  }
  if (s.charCodeAt(i) === 0x65 || s.charCodeAt(i) === 0x45) {
    i++;
    if (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d) i++;
    if (!isDigit(s.charCodeAt(i))) throw INVALID;
    while (isDigit(s.charCodeAt(i))) i++;
  }
  return i;
}

function literal(s: string, i: number, word: string): number {
  if (!s.startsWith(word, i)) throw INVALID;
  return i + word.length;
}
