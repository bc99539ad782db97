// Human-readable blotter, positions and run summary.
import { dec, fmt } from '../domain/decimal.js';
import type { MarketData } from '../market/types.js';
import { markPositions, type Summary, type View } from '../projections/view.js';
import { int, table } from './table.js';

/** Round for display only; the JSON outputs keep every digit. */
const show = (s: string | undefined, dp = 8) => (s === undefined ? '' : fmt(dec(s).round(dp)));

export function renderOrders(view: View, limit: number, status?: string): string {
  const all = [...view.orders.values()].filter((o) => !status || o.status === status.toUpperCase());
  const rows = all
    .slice(0, limit)
    .map((o) => [
      o.order.intent_id,
      o.order.account,
      o.order.instrument_id,
      o.order.side,
      `${o.order.order_type}/${o.order.tif}`,
      show(o.order.qty),
      show(o.order.limit_price, 8),
      show(o.filled_qty),
      o.fills ? show(o.avg_price, 6) : '',
      show(o.fees, 6),
      o.status,
    ]);
  const more = all.length > rows.length ? `\n… ${int(all.length - rows.length)} more orders (fillstream orders --limit 0)` : '';
  return `ORDERS (${int(all.length)})\n` + table(['intent', 'account', 'instrument', 'side', 'type', 'qty', 'limit', 'filled', 'avg price', 'fees', 'status'], rows) + more;
}

export function renderPositions(view: View, market: MarketData): string {
  const mtm = markPositions(view, market);
  const rows = mtm.positions
    .filter((p) => !dec(p.qty).eq(0) || !dec(p.realized_pnl).eq(0))
    .map((p) => [p.account, p.instrument_id, show(p.qty), show(p.avg_cost, 6), show(p.mark, 6), show(p.realized_pnl, 4), show(p.unrealized_pnl, 4), show(p.fees, 4)]);
  const pnl = Object.entries(mtm.totals).map(([ccy, t]) => [ccy, show(t.realized, 4), show(t.unrealized, 4), show(t.fees, 4), show(t.net, 4)]);
  return (
    `POSITIONS (marked at ${view.last_ts || 'n/a'})\n` +
    table(['account', 'instrument', 'qty', 'avg cost', 'mark', 'realized', 'unrealized', 'fees'], rows) +
    '\n\nPNL BY QUOTE CURRENCY\n' +
    table(['ccy', 'realized', 'unrealized', 'fees', 'net'], pnl)
  );
}

export function renderSummary(s: Summary & Record<string, unknown>): string {
  const codes = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-';
  const status =
    Object.entries(s.orders_by_status)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${int(n)}`)
      .join(', ') || '-';
  const lines = [
    ['intents read', int(s.intents)],
    ['dead letters', `${int(s.dlq)}  (${codes(s.dlq_by_code)})`],
    ['duplicates', int(s.duplicates)],
    ['accepted by risk', int(s.accepted)],
    ['rejected by risk', `${int(s.rejected)}  (${codes(s.rejects_by_code)})`],
    ...(s.warnings > 0 ? [['risk warnings', int(s.warnings)]] : []),
    ...(s.closing > 0 ? [['flatten closings', int(s.closing)]] : []),
    ...(s.changes > 0 ? [['cancels/amends', int(s.changes)]] : []),
    ...(s.chains.approved > 0
      ? [
          [
            'chains',
            `${int(s.chains.approved)}  (FILLED ${int(s.chains.filled)}, FAILED ${int(s.chains.failed)}, ABORTED ${int(s.chains.aborted)}, refused ${int(s.chains.refused)}${s.chains.refused > 0 ? `: ${codes(s.chains.refused_by_code)}` : ''}, in flight ${int(s.chains.in_flight)})`,
          ],
        ]
      : []),
    ['orders', `${int(s.orders)}  (${status})`],
    ['fills', int(s.fills)],
    ['open orders', int(s.open_orders)],
    ['events in log', int(s.events)],
    ...(s.events_per_sec !== undefined ? [['replay', `${int(s.events_per_sec as number)} events/s`]] : []),
    ['state hash', s.state_hash],
    ...Object.entries(s.risk_states ?? {}).map(([scope, r]) => [`risk ${scope}`, `${r.mode} by ${r.by}: ${r.reason}`]),
    ...Object.entries(s.venues ?? {}).map(([k, v]) => [
      `venue ${k}`,
      [v.halted ? `HALTED: ${v.halted}` : 'trading', v.quarantined ? `QUARANTINED ${v.quarantined}` : '', v.ready_at ? `ready since ${v.ready_at}` : ''].filter(Boolean).join('; '),
    ]),
  ];
  return 'SUMMARY\n' + lines.map(([k, v]) => `  ${String(k).padEnd(18)} ${v}`).join('\n');
}
