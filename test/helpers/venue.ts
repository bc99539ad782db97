// What reached a gateway's simulated venue, held against the log: every order placed once, and
// each re-send (a request for a client order id the venue already held) explained by a gateway
// commit that was lost, so never in a run nobody interrupted.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { openReadLog } from '../../src/cli/options.js';
import { TOPICS } from '../../src/domain/events.js';
import type { EventLog } from '../../src/log/types.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { fromRecord, typeOf } from '../../src/runtime/codec.js';
import { openSimVenue, readJournal, SIM_JOURNAL_FILE } from '../../src/venues/sim/index.js';
import { cliJson } from './cli.js';

export interface VenueRequests {
  /** Client order ids placed (new to the venue). */
  placed: number;
  /** Requests for ids the venue already held, and how many ids they were for. */
  resends: number;
  resentOrders: number;
}

type BlotterRow = { order: { client_order_id: string } };

/**
 * Checks a gateway data dir's venue journal against the committed order events:
 * - each of `orders` client order ids was placed exactly once;
 * - each re-sent id was one the venue already held, and the ids re-sent are exactly the orders whose
 *   committed OrderSubmitted says `recovered`: the venue answered the first placement, the commit
 *   carrying that answer was lost (a kill, a broker going away), and the retry got the stored
 *   reports. A re-send of an order whose placement was committed fails here;
 * - with `interrupted` false (nothing killed, no broker restart), there is no re-send at all;
 * - with `reference` (the data dir of an uninterrupted embedded run of the same intents), every
 *   re-sent order ended exactly as it did there: its reports came back unchanged.
 */
export async function assertVenueRequests(o: { dataDir: string; bus?: 'embedded' | 'kafka'; orders: number; interrupted: boolean; reference?: string }): Promise<VenueRequests> {
  const venue = await openSimVenue({ dir: join(o.dataDir, 'venue-sim'), market: createSyntheticMarket({ seed: 1 }) });
  let placed: Map<string, number>;
  let resent: Map<string, number>;
  try {
    placed = venue.journalCounts();
    resent = venue.resendCounts();
  } finally {
    await venue.close();
  }
  const counts = { placed: placed.size, resends: [...resent.values()].reduce((a, b) => a + b, 0), resentOrders: resent.size };
  const said = JSON.stringify(counts);
  assert.equal(placed.size, o.orders, `orders placed on the venue (${said})`);
  for (const [coid, n] of placed) assert.equal(n, 1, `client order ${coid} placed ${n} times`);
  for (const coid of resent.keys()) assert.ok(placed.has(coid), `re-sent ${coid}, which the venue never placed`);

  const submitted = await committedSubmissions(o.dataDir, o.bus ?? 'embedded');
  assert.equal(submitted.size, placed.size, 'one committed OrderSubmitted per placed order');
  const recovered = new Set<string>();
  for (const [coid, flags] of submitted) {
    assert.ok(placed.has(coid), `${coid} submitted but never placed`);
    assert.equal(flags.length, 1, `${coid} submitted ${flags.length} times`);
    if (flags[0]) recovered.add(coid);
  }
  const unexplained = [...resent.keys()].filter((coid) => !recovered.has(coid));
  const unseen = [...recovered].filter((coid) => !resent.has(coid));
  // Re-sent ids are exactly the orders whose placement's commit was lost (recovered on the log).
  assert.deepEqual(
    { unexplained: unexplained.length, unseen: unseen.length },
    { unexplained: 0, unseen: 0 },
    `re-sent though the log holds their first answer: ${unexplained.slice(0, 5).join(' ')}; recovered on the log though no re-send reached the venue: ${unseen.slice(0, 5).join(' ')} (${said})`,
  );
  if (!o.interrupted) assert.equal(counts.resends, 0, `a run nobody interrupted re-sends nothing (${said})`);

  if (o.reference !== undefined && resent.size > 0) {
    const args = (dir: string, bus: string) => ['orders', '--data-dir', dir, '--bus', bus];
    const byId = (rows: BlotterRow[]) => new Map(rows.map((r) => [r.order.client_order_id, r]));
    const mine = byId(cliJson<BlotterRow[]>(args(o.dataDir, o.bus ?? 'embedded')));
    const theirs = byId(cliJson<BlotterRow[]>(args(o.reference, 'embedded')));
    for (const coid of resent.keys()) assert.deepEqual(mine.get(coid), theirs.get(coid), `re-sent order ${coid} ends as in the uninterrupted run`);
  }
  return counts;
}

/** `recovered` of each committed OrderSubmitted, by client order id. */
async function committedSubmissions(dataDir: string, bus: 'embedded' | 'kafka'): Promise<Map<string, boolean[]>> {
  const log: EventLog = bus === 'kafka' ? await openReadLog({ dataDir, bus }) : await openLogReadOnly(dataDir);
  const out = new Map<string, boolean[]>();
  try {
    await log.scan([TOPICS.gateway], (r) => {
      if (typeOf(r) !== undefined && typeOf(r) !== 'OrderSubmitted') return;
      const e = fromRecord(r);
      if (e.type !== 'OrderSubmitted') return;
      const flags = out.get(e.data.client_order_id) ?? [];
      flags.push(e.data.recovered);
      out.set(e.data.client_order_id, flags);
    });
  } finally {
    await log.close();
  }
  return out;
}

/** Client order ids a gateway data dir's venue placed so far (read only: for progress while runs come and go). */
export function venuePlacements(dataDir: string): number {
  const path = join(dataDir, 'venue-sim', SIM_JOURNAL_FILE);
  return existsSync(path) ? readJournal(path).entries.length : 0;
}
