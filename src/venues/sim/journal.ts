// The simulated venue's journal: one NDJSON line per client order id it has seen, with its reports.
// Compact on purpose (written at ~20k orders/s): fields every report of an order shares are stored
// once per line, and reports are positional arrays. Still plain JSON, readable with jq.
//   {"id":"fs…","i":"BINANCE:BTCUSDT","ts":"<order event time>","q":"<order qty>","t":"<report ts>","v":"<venue order id>","r":[…]}
//   ACK ["A",vid,ts]  TRADE ["T",vid,trade_id,qty,price,fee,fee_ccy,liquidity,ts]
//   CANCELED ["C",reason,ts]  EXPIRED ["E",reason,ts]  REJECTED ["R",code,reason,ts]
// where vid / ts are 0 when equal to the line's "v" / "t".
// A request for an id the venue already holds places nothing; it is counted with a line of its own,
// {"resent":"fs…"}, after that id's line, so what reached the venue outlives the process.
import { readFileSync } from 'node:fs';
import type { VenueReport } from '../../domain/events.js';

export interface JournalEntry {
  client_order_id: string;
  instrument_id: string;
  /** The order's event time as given (null when it had none). */
  ts: string | null;
  /** The order's quantity (lines from before it was journaled have none). */
  qty?: string;
  reports: VenueReport[];
}

type Enc = (string | 0)[];

/** One journal line with its newline. */
export function encodeJournalLine(e: JournalEntry): string {
  return encodeJournalText(e) + '\n';
}

/** One journal line's JSON text, without the newline. */
export function encodeJournalText(e: JournalEntry): string {
  const t = e.reports[0]?.ts ?? '';
  const ack = e.reports.find((r) => r.kind === 'ACK');
  const v = ack && ack.kind === 'ACK' ? ack.venue_order_id : '';
  const ts = (x: string) => (x === t ? 0 : x);
  const vid = (x: string) => (x === v ? 0 : x);
  const r: Enc[] = e.reports.map((x) => {
    switch (x.kind) {
      case 'ACK':
        return ['A', vid(x.venue_order_id), ts(x.ts)];
      case 'TRADE':
        return ['T', vid(x.venue_order_id), x.trade_id, x.qty, x.price, x.fee, x.fee_ccy, x.liquidity, ts(x.ts)];
      case 'CANCELED':
        return ['C', x.reason, ts(x.ts)];
      case 'EXPIRED':
        return ['E', x.reason, ts(x.ts)];
      case 'REJECTED':
        return ['R', x.code, x.reason, ts(x.ts)];
      case 'AMENDED':
        throw new Error('the simulator does not amend orders');
    }
  });
  return JSON.stringify({ id: e.client_order_id, i: e.instrument_id, ts: e.ts, ...(e.qty !== undefined ? { q: e.qty } : {}), t, v, r });
}

const LENGTHS: Record<string, number> = { A: 3, T: 9, C: 3, E: 3, R: 4 };

/** Decode one journal line; throws a plain message on anything malformed. */
export function decodeJournalLine(text: string): JournalEntry {
  const o = JSON.parse(text) as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || typeof o.id !== 'string' || !Array.isArray(o.r) || typeof o.t !== 'string' || typeof o.v !== 'string') {
    throw new Error('expected {id, i, ts, t, v, r}');
  }
  const t = o.t;
  const v = o.v;
  const str = (x: unknown, dflt: string): string => {
    if (x === 0) return dflt;
    if (typeof x !== 'string') throw new Error(`expected a string, got ${JSON.stringify(x)}`);
    return x;
  };
  const reports = (o.r as unknown[]).map((a): VenueReport => {
    if (!Array.isArray(a) || LENGTHS[a[0] as string] !== a.length) throw new Error(`bad report ${JSON.stringify(a)}`);
    const s = (i: number) => str(a[i], '');
    switch (a[0]) {
      case 'A':
        return { kind: 'ACK', venue_order_id: str(a[1], v), ts: str(a[2], t) };
      case 'T': {
        const liquidity = s(7);
        if (liquidity !== 'MAKER' && liquidity !== 'TAKER') throw new Error(`bad liquidity ${liquidity}`);
        return { kind: 'TRADE', venue_order_id: str(a[1], v), trade_id: s(2), qty: s(3), price: s(4), fee: s(5), fee_ccy: s(6), liquidity, ts: str(a[8], t) };
      }
      case 'C':
        return { kind: 'CANCELED', reason: s(1), ts: str(a[2], t) };
      case 'E':
        return { kind: 'EXPIRED', reason: s(1), ts: str(a[2], t) };
      default:
        return { kind: 'REJECTED', code: s(1), reason: s(2), ts: str(a[3], t) };
    }
  });
  return {
    client_order_id: o.id,
    instrument_id: typeof o.i === 'string' ? o.i : '',
    ts: typeof o.ts === 'string' ? o.ts : null,
    ...(typeof o.q === 'string' ? { qty: o.q } : {}),
    reports,
  };
}

/** The line of one request for a client order id the venue already held, without the newline. */
export function encodeResendText(clientOrderId: string): string {
  return JSON.stringify({ resent: clientOrderId });
}

export interface JournalContents {
  entries: JournalEntry[];
  /** The text of each entry's line (without the newline), in the same order. */
  texts: string[];
  /** Client order ids of the requests for ids already placed, one per request, in journal order. */
  resent: string[];
  /** Bytes up to and including the last newline: everything after it is a torn write. */
  goodBytes: number;
  size: number;
}

/**
 * Read a journal. A tail without its newline is a write cut short by a crash and is left out
 * (goodBytes < size); a malformed complete line is corruption and throws, naming the line.
 */
export function readJournal(path: string): JournalContents {
  const buf = readFileSync(path);
  const entries: JournalEntry[] = [];
  const texts: string[] = [];
  const resent: string[] = [];
  const placed = new Set<string>();
  let start = 0;
  let lineNo = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    lineNo++;
    const text = buf.toString('utf8', start, nl);
    start = nl + 1;
    if (text.trim() === '') continue;
    try {
      const resend = resentId(text);
      if (resend !== undefined) {
        // Written only for an id already held: one before its placement is damage, not a request.
        if (!placed.has(resend)) throw new Error(`re-send of ${resend}, which no earlier line placed`);
        resent.push(resend);
        continue;
      }
      const entry = decodeJournalLine(text);
      entries.push(entry);
      placed.add(entry.client_order_id);
    } catch (e) {
      throw new Error(`${path}:${lineNo}: corrupt sim venue journal line (${(e as Error).message})`, { cause: e });
    }
    texts.push(text);
  }
  return { entries, texts, resent, goodBytes: start, size: buf.length };
}

/** The client order id of a re-send line, undefined for any other line. */
function resentId(text: string): string | undefined {
  if (!text.startsWith('{"resent":')) return undefined;
  const o = JSON.parse(text) as { resent?: unknown };
  if (typeof o.resent !== 'string' || Object.keys(o).length !== 1) throw new Error('expected {resent}');
  return o.resent;
}
