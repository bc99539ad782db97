// The audit sink's fast paths against plain oracles: picking fields from the event text against
// JSON.parse, and the TabSeparated line against a per-field escape of every column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/audit/files.js';
import { PICKED, pickEvent, lastTextPlain, type Picks } from '../../src/audit/pick.js';
import { eventColumns, journalRow, payloadText, rowHash } from '../../src/audit/row.js';
import { EVENT_COLUMNS, type JournalRow } from '../../src/audit/columns.js';
import { chainRow } from '../../src/audit/journal.js';
import { encodeRow, LineWriter } from '../../src/audit/tsv.js';
import { frame } from '../../src/domain/wire.js';
import type { LogRecord } from '../../src/log/types.js';

/** What JSON.parse says is at each picked path: a string only through objects (never arrays). */
function oracle(text: string): Picks {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return PICKED.map(() => undefined);
  }
  return PICKED.map((path) => {
    let at: unknown = v;
    for (const step of path.split('.')) {
      if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, step)) return undefined;
      at = (at as Record<string, unknown>)[step];
    }
    return typeof at === 'string' ? at : undefined;
  });
}

const pick = (text: string): Picks => {
  const out: Picks = new Array(PICKED.length);
  pickEvent(text, out);
  return out;
};

// Strings that stress the scanner: escapes, quotes, unicode, control characters, the keys it looks for.
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', '"', '\\', '\\"', 'a\tb', 'line\nbreak', '\u0000', '\u2028', 'é', '😀', 'type', 'data', 'intent', 'order', 'fill', 'qty'),
);
const keys = fc.constantFrom(...new Set(PICKED.flatMap((p) => p.split('.'))), 'labels', 'size', 'cum_qty', '__proto__', 'x');
// Objects shaped like events (picked keys at every depth, nested arrays and other values) or anything JSON.
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    nasty,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    tie('obj'),
    fc.array(tie('v'), { maxLength: 3 }),
  ),
  obj: fc.dictionary(keys, tie('v'), { maxKeys: 6 }),
})).v;
const eventLike = fc.oneof(value, fc.jsonValue());

/** JSON texts, some invalid: stringified values with whitespace, duplicate keys, or a character cut or added. */
const texts = fc.oneof(
  eventLike.map((v) => JSON.stringify(v) ?? 'null'),
  eventLike.map((v) => JSON.stringify(v, null, 1) ?? 'null'),
  fc.tuple(keys, eventLike, eventLike).map(([k, a, b]) => `{"${k}":${JSON.stringify(a) ?? 'null'},"data":{},"${k}":${JSON.stringify(b) ?? 'null'}}`),
  fc.tuple(eventLike, fc.nat(), fc.string({ maxLength: 2 })).map(([v, at, s]) => {
    const t = JSON.stringify(v) ?? 'null';
    const i = at % (t.length + 1);
    return t.slice(0, i) + s + t.slice(i + (s === '' ? 1 : 0));
  }),
);

test('property: picked fields are exactly what JSON.parse finds, valid text or not', () => {
  fc.assert(
    fc.property(texts, (t) => {
      assert.deepEqual(pick(t), oracle(t), t);
    }),
    { numRuns: 3000 },
  );
});

test('picking: duplicate keys, arrays on the path, escapes and deep nesting', () => {
  const slot = (path: string) => PICKED.indexOf(path as (typeof PICKED)[number]);
  const p = pick('{"type":"A","data":{"order":{"qty":"1"},"order":"x"},"type":"B"}');
  assert.equal(p[slot('type')], 'B', 'the last duplicate wins');
  assert.equal(p[slot('data.order.qty')], undefined, 'a later non-object drops what the first held');
  assert.equal(pick('{"data":[{"venue":"X"}]}')[slot('data.venue')], undefined);
  assert.equal(pick('{"reas\\u006fn":1,"account":"a\\"b\\\\c\\u00e9"}')[slot('account')], 'a"b\\cé');
  assert.deepEqual(
    pick('['.repeat(100_000) + ']'.repeat(100_000)),
    PICKED.map(() => undefined),
  );
  const deep = '{"x":' + '['.repeat(100_000) + ']'.repeat(100_000) + ',"type":"T"}';
  assert.equal(pick(deep)[slot('type')], 'T', 'nesting depth is bounded by memory, not the call stack');
  assert.equal(pick('{"type":"T"} x')[slot('type')], undefined, 'trailing garbage makes it invalid');
});

const rec = (value: Buffer, offset = 0): LogRecord => ({ topic: 'exec.gateway', partition: 1, offset, key: null, value, headers: {}, timestamp: 1_767_348_000_000 });

/** TabSeparated of one row, each field escaped on its own: the reading of the format. */
function oracleLine(r: JournalRow, hash: string): string {
  const esc = (v: unknown) => String(v).replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
  return EVENT_COLUMNS.map(([c]) => esc(c === 'row_hash' ? hash : r[c])).join('\t') + '\n';
}

test('property: the line the sink stores is every column escaped, and its hash is the hash verification recomputes', () => {
  const w = new LineWriter(4096);
  fc.assert(
    fc.property(texts, fc.boolean(), (t, framed) => {
      const body = Buffer.from(t);
      const r = rec(framed ? frame(7, body) : body, 3);
      const staged = chainRow(r, { last_offset: 2, head: 'ab'.repeat(32) }, w);
      const row = journalRow(r, payloadText(r).text, { last_offset: 2, head: 'ab'.repeat(32) });
      assert.equal(row.payload, body.toString(), 'the frame is stripped (lone surrogates do not survive UTF-8)');
      assert.equal(staged.row_hash, rowHash(row));
      assert.equal(staged.line.toString(), oracleLine(row, staged.row_hash));
      // The sink's shortcut is only taken when the text really has nothing to escape.
      pickEvent(row.payload, new Array(PICKED.length));
      if (lastTextPlain()) assert.ok(!/[\\\t\n\r]/.test(row.payload));
    }),
    { numRuns: 2000 },
  );
});

test('non-UTF-8 bytes are journaled as the replacement text every reader sees', () => {
  const r = rec(Buffer.concat([Buffer.from('{"type":"X","reason":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]));
  const c = eventColumns(r);
  assert.equal(c.payload, r.value.toString());
  assert.equal(c.event_type, 'X');
  const staged = chainRow(r, { last_offset: -1, head: '' }, new LineWriter());
  assert.equal(staged.line.toString().split('\t')[EVENT_COLUMNS.findIndex(([n]) => n === 'payload')], r.value.toString());
});

test('the encoder moves to a new chunk when a line does not fit, and never splits a line', () => {
  const w = new LineWriter(1024);
  const big = Buffer.from(JSON.stringify({ type: 'X', reason: 'r'.repeat(5000) }));
  const lines = [0, 1, 2].map((o) => chainRow(rec(big, o), { last_offset: o - 1, head: '' }, w).line.toString());
  for (const l of lines) {
    assert.ok(l.endsWith('\n') && l.split('\t').length === EVENT_COLUMNS.length);
    assert.ok(l.includes('r'.repeat(5000)));
  }
  const small = encodeRow(journalRow(rec(Buffer.from('{}')), '{}', { last_offset: -1, head: '' }), w).line.toString();
  assert.ok(small.startsWith('2026-01-02\t'));
});

test('a data dir holding a journal in the older NDJSON format is refused with what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fillstream-old-journal-'));
  try {
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, 'audit', 'state-000001.json'), JSON.stringify({ heads: [], checksums: [] }));
    writeFileSync(join(dir, 'audit', 'events-000001.ndjson'), '{"day":"2026-01-02"}\n');
    await assert.rejects(new FileStore(dir).load(), /older NDJSON format \(events-000001\.ndjson\); move that directory aside/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
