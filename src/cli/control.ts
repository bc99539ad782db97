// `fillstream control`: an operator's commands to risk, recorded as events with who and why
// (halt, resume, reduce, flatten, break-glass flatten; a new or patched policy; a compliance
// bundle). `fillstream risk status`: trading states, limits and how much of each is used.
// `fillstream whatif`: the recorded intents decided again under another policy.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { marketOf, putComplianceInForce } from '../assembly/run.js';
import { fmt, ZERO } from '../domain/decimal.js';
import { TOPICS, type EventOf } from '../domain/events.js';
import { microsToIso, nowMicros, isoToMicros } from '../domain/time.js';
import type { MarketData } from '../market/types.js';
import type { RiskState } from '../risk/decide.js';
import { restoreRisk } from '../risk/inputs.js';
import { dailyKey, isGatewayFact } from '../risk/state.js';
import { Measure } from '../risk/measure.js';
import { compilePolicy, parsePolicy, type Compiled } from '../risk/policy.js';
import { loadRegoPolicy } from '../risk/rego.js';
import { compileRegoDir, findOpa } from '../risk/rego-build.js';
import { WhatIf } from '../risk/whatif.js';
import { fromRecord, typeOf } from '../runtime/codec.js';
import { busOption, dataDirOption, intArg, marketFor, openForWrite, openReadLog } from './options.js';
import { appendToRisk, checkScope, riskCommand, setPolicy } from '../ops/commands.js';
import { table } from './table.js';

const scopeArg = (v: string) => checkScope(v);

interface WriteOptions {
  dataDir: string;
  bus: string;
  reason: string;
  operator: string;
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function registerControlCommands(program: Command): void {
  const control = program.command('control').description("an operator's commands to risk, recorded with who and why");
  const writeOptions = (c: Command) =>
    c
      .requiredOption('--reason <text>', 'why (recorded)')
      .option('--operator <name>', 'who (recorded; default $USER)', process.env.USER ?? 'operator')
      .addOption(dataDirOption())
      .addOption(busOption());

  const act = (name: 'halt' | 'resume' | 'reduce' | 'flatten' | 'break-glass-flatten', description: string) =>
    writeOptions(control.command(name).description(description))
      .option('--scope <scope>', 'global, account:NAME or strategy:NAME', scopeArg, 'global')
      .action(async (o: WriteOptions & { scope: string }) => {
        const e = riskCommand(name, o.scope, o.operator, o.reason);
        const log = await openForWrite(o);
        try {
          await appendToRisk(log, [e]);
        } finally {
          await log.close();
        }
        console.log(`${name} ${o.scope} by ${o.operator}: ${o.reason} (command ${e.data.command_id}; risk acts on it where it reads exec.risk)`);
      });
  act('halt', 'HALTED: the scope takes no new intent until an operator resumes it (cancels still pass)');
  act('resume', 'ACTIVE again: clears a halt or reduce-only, whoever set it');
  act('reduce', 'REDUCING: only intents that take a position toward flat pass');
  act('flatten', "closing intents for the scope's positions, decided by risk like any intent; ends in a FlattenCompleted");
  act('break-glass-flatten', "market orders closing the scope's positions that skip every rule but the safety ones (fat finger, max order quantity), even while HALTED");

  writeOptions(
    control.command('policy').description('put a new risk policy in force (--file), change the one in force (--patch, a JSON merge patch), or a compliance bundle (--rego)'),
  )
    .option('--file <policy.json>', 'the whole new policy')
    .option('--patch <patch.json>', 'a JSON merge patch (RFC 7386) applied to the policy in force')
    .option('--rego <dir>', "compliance's Rego policies (and data.json), compiled to WebAssembly with opa")
    .action(async (o: WriteOptions & { file?: string; patch?: string; rego?: string }) => {
      const given = [o.file, o.patch, o.rego].filter((x) => x !== undefined).length;
      if (given !== 1) throw new Error('give exactly one of --file, --patch or --rego');
      if (o.rego) {
        // Compiled and loaded here first: a bundle that does not build or load never reaches the log.
        const bundle = await compileRegoDir(o.rego, findOpa());
        await loadRegoPolicy(bundle);
        const log = await openForWrite(o);
        try {
          const put = await putComplianceInForce(log, bundle, o.operator, o.reason);
          console.log(
            put.written
              ? `compliance version ${put.version} (${bundle.hash.slice(0, 12)}, ${bundle.files.join(', ')}) by ${o.operator}: ${o.reason}`
              : `compliance bundle ${bundle.hash.slice(0, 12)} is already in force (version ${put.version})`,
          );
        } finally {
          await log.close();
        }
        return;
      }
      const log = await openForWrite(o);
      try {
        const change = o.file ? { policy: readJson(o.file, 'risk policy'), what: `risk policy ${o.file}` } : { patch: readJson(o.patch!, 'policy patch'), what: o.patch! };
        const set = await setPolicy(log, change, o.operator, o.reason);
        if (!set.written) console.log(`that policy is already in force (version ${set.version})`);
        else console.log(`risk policy version ${set.version} (${set.rule_set_hash?.slice(0, 12)}) by ${o.operator}: ${o.reason}`);
      } finally {
        await log.close();
      }
    });

  const riskCmd = program.command('risk').description("risk's state");
  riskCmd
    .command('status')
    .description('trading states, the policy in force, its limits and how much of each is used')
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--books <file>', 'Kafka: the NDJSON books the stages run with (default: the synthetic market)')
    .option('--seed <n>', 'Kafka: seed of the synthetic market', intArg('--seed'), 1)
    .option('--json', 'print JSON')
    .action(async (o: { dataDir: string; bus: string; books?: string; seed: number; json?: boolean }) => {
      const market = await marketFor(o);
      const log = await openReadLog(o);
      let restored;
      let lastTs = '';
      try {
        restored = await restoreRisk(log, null);
        await log.scan([TOPICS.router], (r) => {
          const t = typeOf(r);
          if (t === 'RiskApproved' || t === 'RiskRejected') lastTs = fromRecord(r).ts;
        });
      } finally {
        await log.close();
      }
      const status = riskStatus(restored.state, market, lastTs || microsToIso(nowMicros()), restored.compliance);
      if (o.json) console.log(JSON.stringify(status, null, 2));
      else console.log(renderStatus(status));
    });

  program
    .command('whatif')
    .description('decide the recorded intents again under another policy (the data dir is only read) and report what would differ')
    .addOption(dataDirOption())
    .requiredOption('--policy <file>', 'the risk policy to try')
    .option('--rego <dir>', "compliance's Rego policies to try beside it")
    .option('--books <file>', 'the NDJSON books the data dir was run with')
    .option('--limit <n>', 'differences to list (the counts cover all)', intArg('--limit'), 50)
    .option('--json', 'print JSON (every difference)')
    .action(async (o: { dataDir: string; policy: string; rego?: string; books?: string; limit: number; json?: boolean }) => {
      const policy = parsePolicy(readJson(o.policy, 'risk policy'), `risk policy ${o.policy}`);
      const compliance = o.rego ? await loadRegoPolicy(await compileRegoDir(o.rego, findOpa())) : undefined;
      const market = await marketOf(o.dataDir, o.books);
      const log = await openReadLog({ dataDir: o.dataDir, bus: 'embedded' });
      const w = new WhatIf(policy, market, compliance);
      try {
        await log.scan([TOPICS.router], (r) => {
          const t = typeOf(r);
          if (t === 'RiskApproved' || t === 'RiskRejected' || t === undefined) w.learn(fromRecord(r));
        });
        // The embedded log scans in append order across topics: the order things happened.
        await log.scan([TOPICS.risk, TOPICS.gateway], (r) => {
          const t = typeOf(r);
          if (t === undefined || t === 'IntentAccepted' || t === 'OperatorCommand' || isGatewayFact(t)) w.replay(fromRecord(r));
        });
      } finally {
        await log.close();
      }
      const report = w.result();
      if (o.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(
        `${report.intents} intents decided again under ${o.policy} (${report.policy_hash.slice(0, 12)})${report.rego_hash ? ` and compliance ${report.rego_hash.slice(0, 12)}` : ''}: ${report.changed} would change`,
      );
      if (report.changed > 0) {
        console.log(
          '\nBY OUTCOME\n' +
            table(
              ['recorded → what-if', 'intents'],
              Object.entries(report.by_outcome).sort((a, b) => b[1] - a[1]),
            ),
        );
      }
      const rules = Object.entries(report.by_rule).sort(([a], [b]) => (a < b ? -1 : 1));
      if (rules.length > 0)
        console.log(
          '\nBY RULE\n' +
            table(
              ['code', 'recorded', 'what-if'],
              rules.map(([c, n]) => [c, n.recorded, n.whatif]),
            ),
        );
      if (report.changed > 0) {
        const v = (s: { outcome: string; code?: string; qty?: string } | null) =>
          s ? `${s.outcome}${s.code ? ` ${s.code}` : ''}${s.qty && s.outcome !== 'rejected' ? ` ${s.qty}` : ''}` : '(none)';
        const rows = report.differences.slice(0, o.limit).map((d) => [d.intent_id, d.ts, d.account, d.strategy, d.instrument_id, v(d.old), v(d.new)]);
        console.log(
          `\nCHANGED (${Math.min(o.limit, report.changed)} of ${report.changed})\n` + table(['intent', 'ts', 'account', 'strategy', 'instrument', 'recorded', 'what-if'], rows),
        );
      }
    });
}

export interface RiskStatus {
  policy: { version: number; name?: string; rule_set_hash: string; halted: boolean };
  compliance?: { version: number; hash: string; files: string[] };
  marked_at: string;
  states: { scope: string; mode: string; reason: string; since: string; by: string }[];
  limits: { rule: string; scope: string; limit: string; used: string; flags: string }[];
  open_intents: number;
  flattens: { flatten_id: string; scope: string; pending: number; failed: number }[];
}

/** What `risk status` shows, from risk's fold and the books at `ts`. */
export function riskStatus(state: RiskState, market: MarketData, ts: string, compliance?: EventOf<'CompliancePolicySet'>): RiskStatus {
  const m = new Measure(state, market, isoToMicros(ts));
  const c = compilePolicy(state.policy);
  const limits: RiskStatus['limits'] = [];
  const accounts = [...new Set([...state.positions.positions.keys(), ...[...state.openCount.keys()].filter((k) => k.startsWith('account:')).map((k) => k.slice(8))])].sort();
  const today = ts.slice(0, 10);
  for (const r of c.all) {
    const scope = [r.account && `account:${r.account}`, r.strategy && `strategy:${r.strategy}`, r.instrument, r.venue].filter(Boolean).join(' ') || 'all';
    const flags = [r.warn_only ? 'warn_only' : '', 'revise' in r && r.revise ? 'revise' : ''].filter(Boolean).join(',');
    const limit = limitText(r);
    let used = '';
    if (r.rule === 'daily_notional') used = `${fmt(state.daily.day === today ? (state.daily.notional.get(dailyKey(r)) ?? ZERO).round(2) : ZERO)} USD today`;
    else if (r.rule === 'max_open_orders')
      used = (r.strategy ? [`strategy:${r.strategy}`] : accounts.map((a) => `account:${a}`)).map((k) => `${k} ${state.openCount.get(k) ?? 0}`).join(', ');
    else if (r.rule === 'daily_loss' || r.rule === 'drawdown') {
      const s = r.strategy ? `strategy:${r.strategy}` : r.account ? `account:${r.account}` : 'global';
      const pnl = m.pnlUsd(s);
      const mark = state.pnl.get(s);
      if (pnl) {
        const base = r.rule === 'daily_loss' ? (mark && mark.day === today ? mark.day_start : pnl) : mark && mark.peak.gt(pnl) ? mark.peak : pnl;
        used = `${fmt(base.minus(pnl).round(2))} USD (PnL ${fmt(pnl.round(2))})`;
      }
    } else if (r.rule === 'gross_exposure' || r.rule === 'net_exposure') {
      const gross = r.rule === 'gross_exposure';
      const scopes = r.book ? [undefined] : accounts;
      used = scopes
        .map((a) => {
          // No order of its own: every term counts.
          const ex = m.exposure(a, '', '');
          return `${a ?? 'book'} ${'unmarked' in ex ? `(no mark for ${ex.unmarked})` : fmt((gross ? ex.gross : ex.net).round(2))}`;
        })
        .join(', ');
    }
    limits.push({ rule: r.rule, scope, limit, used, flags });
  }
  return {
    policy: { version: state.version, ...(state.policy.name ? { name: state.policy.name } : {}), rule_set_hash: state.hash, halted: state.policy.halted },
    ...(compliance ? { compliance: { version: compliance.data.version, hash: compliance.data.hash, files: compliance.data.files } } : {}),
    marked_at: ts,
    states: [...state.standings].map(([scope, s]) => ({ scope, mode: s.mode, reason: s.reason, since: s.since, by: s.by })).sort((a, b) => (a.scope < b.scope ? -1 : 1)),
    limits,
    open_intents: state.open.size,
    flattens: [...state.flattens].map(([id, f]) => ({ flatten_id: id, scope: f.scope, pending: f.pending.size, failed: f.failed.size })),
  };
}

/** A rule's limit in words, for `risk status`. */
function limitText(r: Compiled): string {
  switch (r.rule) {
    case 'max_order_qty':
    case 'position_limit':
      return r.limit;
    case 'max_open_orders':
      return String(r.limit);
    case 'leverage':
      return `${r.max}×`;
    case 'price_band':
      return `${r.max_bps} bps`;
    case 'fat_finger':
      return `${r.max_share_of_depth} of ${r.levels ?? 10} levels`;
    case 'order_size':
      return [r.min_usd && `min ${r.min_usd} USD`, r.max_usd && `max ${r.max_usd} USD`].filter(Boolean).join(', ');
    case 'velocity':
      return [r.max_per_second && `${r.max_per_second}/s`, r.max_per_minute && `${r.max_per_minute}/min`].filter(Boolean).join(', ') + ` per ${r.per}`;
    case 'duplicate_guard':
      return `${r.window_ms} ms`;
    case 'strategy_allow':
    case 'stop_loss_required':
      return r.strategies.join(', ');
    case 'restricted_instruments':
      return r.instruments.join(', ');
    case 'trading_window':
      return `${r.days.join(',')} ${r.open}–${r.close} ${r.time_zone}`;
    default:
      return `${r.limit_usd} USD${r.rule === 'daily_loss' || r.rule === 'drawdown' ? ` → ${r.then}` : ''}`;
  }
}

function renderStatus(s: RiskStatus): string {
  const lines = [
    `policy version ${s.policy.version}${s.policy.name ? ` "${s.policy.name}"` : ''} (rule set ${s.policy.rule_set_hash.slice(0, 12)})${s.policy.halted ? ' — the policy sets the halt latch' : ''}`,
    s.compliance ? `compliance version ${s.compliance.version} (${s.compliance.hash.slice(0, 12)}: ${s.compliance.files.join(', ')})` : 'compliance: none',
    `open intents ${s.open_intents}; marked at ${s.marked_at}`,
    '',
    'TRADING STATES',
    s.states.length === 0
      ? '  every scope ACTIVE'
      : table(
          ['scope', 'state', 'since', 'by', 'reason'],
          s.states.map((x) => [x.scope, x.mode, x.since, x.by, x.reason]),
        ),
    '',
    'LIMITS',
    s.limits.length === 0
      ? '  none'
      : table(
          ['rule', 'applies to', 'limit', 'used', 'flags'],
          s.limits.map((l) => [l.rule, l.scope, l.limit, l.used, l.flags]),
        ),
  ];
  if (s.flattens.length > 0)
    lines.push(
      '',
      'FLATTENS UNDER WAY',
      table(
        ['flatten', 'scope', 'pending', 'failed'],
        s.flattens.map((f) => [f.flatten_id, f.scope, f.pending, f.failed]),
      ),
    );
  return lines.join('\n');
}
