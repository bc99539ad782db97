// The journal's pure parts: row mapping, hash chain, batch cutting and day verification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeEvent } from '../../src/domain/envelope.js';
import type { Event } from '../../src/domain/events.js';
import { cutBatches, JournalState, tablePartition, type StagedRow } from '../../src/audit/journal.js';
import { eventColumns, journalRow, payloadText, rowHash } from '../../src/audit/row.js';
import { type ChecksumRow, type JournalRow } from '../../src/audit/columns.js';
import { verifyDay } from '../../src/audit/verify.js';
import type { LogRecord } from '../../src/log/types.js';

const rec = (e: unknown, topic: string, offset: number, partition = 0): LogRecord => ({
  topic,
  partition,
  offset,
  key: null,
  value: Buffer.from(JSON.stringify(e)),
  headers: {},
  timestamp: 1_767_348_000_000,
});

const env = (intent: string, ts: string) => ({ intent_id: intent, account: 'a1', strategy: 's1', ts, causation: 'c' });
const fill = (intent: string, ts: string): Event => {
  const e = makeEvent('OrderFilled', `${intent}/fill`, env(intent, ts), {
    client_order_id: 'co-' + intent,
    fill: {
      fingerprint: 'fp',
      venue: 'BINANCE',
      venue_order_id: 'V1',
      trade_id: 't1',
      qty: '0.10247846',
      price: '65306.6',
      fee: '6.692519795836',
      fee_ccy: 'USDT',
      liquidity: 'TAKER',
      ts,
    },
    cum_qty: '0.10247846',
    avg_price: '65306.6',
    status: 'FILLED',
  });
  e.recorded_at = '2026-01-02T10:00:01.500Z';
  return e;
};

test('an OrderFilled row carries the order ids, the fill and its exact notional', () => {
  const e = fill('i1', '2026-01-02T10:00:00.123456Z');
  const c = eventColumns(rec(e, 'exec.gateway', 7));
  assert.equal(c.day, '2026-01-02');
  assert.equal(c.ts_us, 1_767_348_000_123_456);
  assert.equal(c.recorded_us, 1_767_348_001_500_000);
  assert.equal(c.client_order_id, 'co-i1');
  assert.equal(c.order_id, 'V1');
  assert.equal(c.venue, 'BINANCE');
  assert.equal(c.notional, '6692.519795836'); // 65306.6 x 0.10247846, exact
  assert.equal(c.fee, '6.692519795836');
  assert.equal(c.log_offset, 7);
  assert.equal(JSON.parse(c.payload).event_id, 'i1/fill');
});

test('rejects and dead letters carry their code; a record that is not an event still gets a row', () => {
  const rj = makeEvent('RiskRejected', 'i2/risk', env('i2', '2026-01-02T10:00:00Z'), { code: 'MAX_ORDER_NOTIONAL', reason: 'too big', policy_version: 1 });
  assert.equal(eventColumns(rec(rj, 'exec.router', 0)).code, 'MAX_ORDER_NOTIONAL');
  const bad: LogRecord = { ...rec({}, 'exec.dlq', 3), value: Buffer.from('not json') };
  const c = eventColumns(bad);
  assert.equal(c.event_type, '');
  assert.equal(c.payload, 'not json');
  assert.equal(c.ts_us, bad.timestamp * 1000);
  assert.equal(c.day, '2026-01-02');
});

/**
 * A chain of n rows over two partitions, stored, with its checksums: what a sink would write. The
 * rows are also built whole, the way verification reads them back, and must hash alike.
 */
function journal(days: string[], partitions = 2): { rows: JournalRow[]; sums: ChecksumRow[]; staged: StagedRow[] } {
  const s = new JournalState();
  const rows: JournalRow[] = [];
  const staged: StagedRow[] = [];
  const heads = new Map<number, { last_offset: number; head: string }>();
  days.forEach((day, i) => {
    const r = rec(fill('i' + i, `${day}T10:00:00.000001Z`), 'exec.gateway', Math.floor(i / partitions) * 2, i % partitions);
    staged.push(s.append(r)!);
    const row = journalRow(r, payloadText(r).text, heads.get(r.partition) ?? { last_offset: -1, head: '' });
    row.row_hash = rowHash(row);
    heads.set(r.partition, { last_offset: r.offset, head: row.row_hash });
    rows.push(row);
  });
  assert.deepEqual(
    staged.map((r) => r.row_hash),
    rows.map((r) => r.row_hash),
  );
  s.applyStored(staged);
  return { rows, sums: s.checksums(), staged };
}

function verifyStore(day: string, rows: JournalRow[], sums: ChecksumRow[]) {
  const daySums = sums.filter((c) => c.day === day);
  const inRange = (r: JournalRow) =>
    daySums.some((c) => c.log_topic === r.log_topic && c.log_partition === r.log_partition && r.log_offset >= c.first_offset && r.log_offset <= c.last_offset);
  const fetched = rows.filter((r) => r.day === day || inRange(r));
  const has = new Set(fetched);
  return verifyDay({ day, rows: fetched, predecessors: rows.filter((r) => !has.has(r)), checksums: daySums });
}

const dayArb = fc.array(fc.constantFrom('2026-01-01', '2026-01-02', '2026-01-03'), { minLength: 1, maxLength: 60 });

test('property: an untouched journal verifies on every day, whatever the order of event days', () => {
  fc.assert(
    fc.property(dayArb, (days) => {
      const { rows, sums } = journal(days);
      for (const d of new Set(days)) {
        const r = verifyStore(d, rows, sums);
        assert.ok(r.ok, JSON.stringify(r.findings));
        assert.equal(r.rows, days.filter((x) => x === d).length);
      }
    }),
  );
});

test('property: any changed value, deleted row or forged row is found on its day', () => {
  fc.assert(
    fc.property(dayArb, fc.nat(), fc.constantFrom('change', 'rehash', 'delete', 'forge', 'duplicate'), (days, pick, how) => {
      const { rows, sums } = journal(days);
      const i = pick % rows.length;
      const victim = rows[i];
      let tampered = [...rows];
      let expect: string[];
      if (how === 'change') {
        tampered[i] = { ...victim, qty: victim.qty + '1' };
        expect = ['changed'];
      } else if (how === 'rehash') {
        // A careful forger recomputes the row's own hash: the next link or the day's head still tells.
        const t = { ...victim, price: '1' };
        t.row_hash = rowHash(t);
        tampered[i] = t;
        expect = ['changed'];
      } else if (how === 'delete') {
        tampered = rows.filter((_, j) => j !== i);
        expect = ['missing'];
      } else if (how === 'duplicate') {
        tampered.push({ ...victim, qty: '5' });
        expect = ['added'];
      } else {
        const forged = { ...victim, log_offset: victim.log_offset + 1, prev_offset: victim.log_offset, prev_hash: victim.row_hash, qty: '5' };
        forged.row_hash = rowHash(forged);
        tampered.push(forged);
        expect = ['added'];
      }
      const r = verifyStore(victim.day, tampered, sums);
      assert.equal(r.ok, false, `${how} at ${victim.log_partition}/${victim.log_offset} went unnoticed`);
      assert.ok(
        r.findings.some((f) => expect.includes(f.kind) && f.partition === victim.log_partition),
        `${how}: ${JSON.stringify(r.findings)}`,
      );
      if (how === 'change') assert.ok(r.findings.some((f) => f.offset === victim.log_offset));
    }),
  );
});

test('chain state: rows resume after what is stored, and duplicates of stored offsets are skipped', () => {
  const { rows, staged } = journal(['2026-01-02', '2026-01-02', '2026-01-02'], 1);
  const s = new JournalState([{ log_topic: 'exec.gateway', log_partition: 0, last_offset: rows[1].log_offset, head: rows[1].row_hash }]);
  assert.equal(s.next('exec.gateway', 0), rows[1].log_offset + 1);
  const e = fill('i2', '2026-01-02T10:00:00.000001Z');
  assert.equal(s.append(rec(e, 'exec.gateway', rows[1].log_offset)), undefined);
  const again = s.append(rec(e, 'exec.gateway', rows[2].log_offset))!;
  assert.equal(again.row_hash, rows[2].row_hash, 'the same record after a restart hashes the same');
  assert.deepEqual(again.line, staged[2].line, 'and encodes the same');
});

test('property: cuts never span two table partitions and each takes the next rows of every log partition', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ day: fc.constantFrom('2026-01-31', '2026-02-01', '2026-03-01'), p: fc.integer({ min: 0, max: 2 }) }), { maxLength: 80 }),
      fc.integer({ min: 1, max: 10 }),
      (spec, max) => {
        const rows: StagedRow[] = spec.map(({ day, p }, i) => ({ day, log_topic: 't', log_partition: p, log_offset: i, row_hash: '', line: Buffer.from('x\n') }));
        const cuts = cutBatches(rows, max, 1 << 20);
        const stream = (rs: StagedRow[], p: number) => rs.filter((r) => r.log_partition === p).map((r) => r.log_offset);
        for (const p of [0, 1, 2]) assert.deepEqual(stream(cuts.flat(), p), stream(rows, p), 'per partition: the log order');
        for (const c of cuts) {
          assert.ok(c.length >= 1 && c.length <= max);
          assert.equal(new Set(c.map(tablePartition)).size, 1);
        }
        // Runs of one month inside a partition cost cuts; interleaving across partitions does not.
        const switches = Math.max(
          0,
          ...[0, 1, 2].map((p) => rows.filter((r) => r.log_partition === p).filter((r, i, a) => i > 0 && tablePartition(r) !== tablePartition(a[i - 1])).length),
        );
        assert.ok(cuts.length <= Math.ceil(rows.length / max) + 3 * (switches + 1), `${cuts.length} cuts`);
      },
    ),
  );
});
