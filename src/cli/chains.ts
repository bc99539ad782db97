// `fillstream chains`: the chains in flight and the latest reports, folded from the log; and an
// operator's words to the chain decider (pause, resume, slots, cancel), recorded with who and why.
import type { Command } from 'commander';
import { DEFAULT_CHAIN_SETTINGS } from '../chains/decide.js';
import { TOPICS, type EventOf } from '../domain/events.js';
import { microsToIso } from '../domain/time.js';
import { appendToAll, chainCommand } from '../ops/commands.js';
import { restoreRouting } from '../router/inputs.js';
import { fromRecord, typeOf } from '../runtime/codec.js';
import { busOption, chainsFromEnv, dataDirOption, intArg, marketFor, openForWrite, openReadLog } from './options.js';
import { table } from './table.js';

interface WriteOptions {
  dataDir: string;
  bus: string;
  reason: string;
  operator: string;
}

async function writeCommand(o: WriteOptions, e: EventOf<'ChainCommand'>): Promise<void> {
  const log = await openForWrite(o);
  try {
    // Every partition's chain decider hears it.
    await appendToAll(log, TOPICS.gateway, [e]);
  } finally {
    await log.close();
  }
}

/** One line per report, like the executor's log: status, triangle, bps, profit, fills with fee and latency. */
function reportLine(r: EventOf<'ChainCompleted'>): string {
  const d = r.data;
  const fills = d.legs.map(
    (l) => `L${l.leg}:${l.side.toLowerCase()} ${l.pair} ${l.input_ccy}->${l.output_ccy} ${l.filled_qty}@${l.avg_price}(fee=${l.fee} ${l.fee_ccy} lat=${l.latency_ms}ms)`,
  );
  return [
    `${r.recorded_at || r.ts} ${d.status}`,
    `corr=${r.intent_id}`,
    `triangle=${d.triangle.join('/')}`,
    `predicted_bps=${d.predicted_bps}`,
    `effective_bps=${d.effective_bps ?? '-'}`,
    `profit=${d.profit ?? '-'}`,
    `timings=[${d.timings.map((t) => `${t.step}=${t.ms}ms`).join(' ')}]`,
    `fills=[${fills.join(', ')}]`,
    ...(d.held ? [`held=${d.held.amount} ${d.held.asset}`] : []),
    ...(d.error ? [`error=${d.error}`] : []),
  ].join(' | ');
}

export function registerChainCommands(program: Command): void {
  const chainsCmd = program.command('chains').description('multi-leg chains: in flight, reports, and the operator commands');

  chainsCmd
    .command('list')
    .description('the chains in flight (folded from the log), the slots and whether admission is paused')
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--books <file>', 'Kafka: the NDJSON books the stages run with (default: the synthetic market)')
    .option('--seed <n>', 'Kafka: seed of the synthetic market', intArg('--seed'), 1)
    .option('--json', 'print JSON')
    .action(async (o: { dataDir: string; bus: string; books?: string; seed: number; json?: boolean }) => {
      const market = await marketFor(o);
      const log = await openReadLog(o);
      try {
        const { chains } = await restoreRouting(log, null, market, chainsFromEnv());
        const rows = [...chains.inflight.values()].map((run) => {
          const done = run.legs.filter((l) => l.done).length;
          return {
            chain_id: run.chain.chain_id,
            triangle: run.chain.triangle.join('/'),
            venue: run.chain.venue,
            mode: run.chain.mode,
            legs_done: `${done}/${run.chain.legs.length}`,
            at_leg: run.unwind ? 'unwind' : run.awaiting ? `${run.awaiting.leg} (awaiting ${run.awaiting.asset} balance)` : String(run.legs.length - 1),
            started: microsToIso(run.started_us),
            cancel_asked: run.cancel !== undefined,
          };
        });
        const settings = { slots: chains.settings.slots, paused: chains.settings.paused, in_flight: rows.length, default_slots: DEFAULT_CHAIN_SETTINGS.slots };
        if (o.json) console.log(JSON.stringify({ settings, in_flight: rows }));
        else {
          console.log(`slots ${settings.slots}, in flight ${settings.in_flight}${settings.paused ? ', admission PAUSED' : ''}`);
          if (rows.length > 0)
            console.log(
              table(
                Object.keys(rows[0]),
                rows.map((r) => Object.values(r).map(String)),
              ),
            );
        }
      } finally {
        await log.close();
      }
    });

  chainsCmd
    .command('reports')
    .description('the latest chain reports (FILLED, FAILED, ABORTED), one line each')
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--limit <n>', 'reports to print (0 = all)', intArg('--limit'), 20)
    .option('--json', 'print the ChainCompleted events as NDJSON')
    .action(async (o: { dataDir: string; bus: string; limit: number; json?: boolean }) => {
      const log = await openReadLog(o);
      const reports: EventOf<'ChainCompleted'>[] = [];
      try {
        await log.scan([TOPICS.gateway], (r) => {
          const type = typeOf(r);
          if (type !== undefined && type !== 'ChainCompleted') return;
          const e = fromRecord(r);
          if (e.type === 'ChainCompleted') reports.push(e);
        });
      } finally {
        await log.close();
      }
      const shown = o.limit ? reports.slice(-o.limit) : reports;
      for (const r of shown) console.log(o.json ? JSON.stringify(r) : reportLine(r));
    });

  const writeOptions = (c: Command) =>
    c
      .requiredOption('--reason <text>', 'why (recorded)')
      .option('--operator <name>', 'who (recorded; default $USER)', process.env.USER ?? 'operator')
      .addOption(dataDirOption())
      .addOption(busOption());
  writeOptions(chainsCmd.command('pause').description('no new chain is admitted (chains in flight go on)')).action(async (o: WriteOptions) => {
    await writeCommand(o, chainCommand('pause', o));
    console.log(`chains paused by ${o.operator}: ${o.reason}`);
  });
  writeOptions(chainsCmd.command('resume').description('chains are admitted again')).action(async (o: WriteOptions) => {
    await writeCommand(o, chainCommand('resume', o));
    console.log(`chains resumed by ${o.operator}: ${o.reason}`);
  });
  writeOptions(chainsCmd.command('slots').description('how many chains may be in flight at once').argument('<n>', 'slots', intArg('slots'))).action(
    async (n: number, o: WriteOptions) => {
      await writeCommand(o, chainCommand('slots', { ...o, slots: n }));
      console.log(`chain slots set to ${n} by ${o.operator}: ${o.reason}`);
    },
  );
  writeOptions(chainsCmd.command('cancel').description('stop a chain before its next leg (ABORTED; held inventory kept or unwound as it asked)').argument('<chain_id>')).action(
    async (id: string, o: WriteOptions) => {
      await writeCommand(o, chainCommand('cancel', { ...o, chain_id: id }));
      console.log(`chain ${id}: cancel asked by ${o.operator}: ${o.reason} (honoured before its next leg)`);
    },
  );
}
