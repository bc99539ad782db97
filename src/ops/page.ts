// The operator page: one HTML document with its script inline, served at / by `fillstream serve`.
// Live blotter from the /feed WebSocket, positions and PnL from /positions and /pnl, trading states
// and venues from /status; halt and resume ask for the operator token and post to /control.
export const OPERATOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fillstream operator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 1rem; color: #111; }
  h1 { font-size: 1.2rem; margin: 0 0 .5rem; }
  h2 { font-size: 1rem; margin: 1rem 0 .3rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #ddd; font-variant-numeric: tabular-nums; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
  .HALTED { color: #b00; font-weight: bold; } .REDUCING { color: #a60; font-weight: bold; } .ACTIVE { color: #070; }
  #controls input { width: 14rem; } #controls button { margin-left: .3rem; }
  #message { margin-left: .5rem; }
  #blotter { max-height: 24rem; overflow: auto; display: block; }
</style>
</head>
<body>
<h1>fillstream <span id="role"></span> <span id="connection">connecting…</span></h1>
<div id="controls">
  scope <input id="scope" value="global" aria-label="scope">
  reason <input id="reason" value="operator page" aria-label="reason">
  <button id="halt">Halt</button><button id="resume">Resume</button>
  <span id="message" role="status"></span>
</div>
<div class="grid">
  <section><h2>Trading states</h2><table><thead><tr><th>scope</th><th>state</th><th>by</th><th>reason</th></tr></thead><tbody id="states"></tbody></table></section>
  <section><h2>Venues</h2><table><thead><tr><th>venue</th><th>health</th></tr></thead><tbody id="venues"></tbody></table></section>
  <section><h2>Positions</h2><table><thead><tr><th>account</th><th>instrument</th><th>qty</th><th>avg cost</th><th>unrealized</th></tr></thead><tbody id="positions"></tbody></table></section>
  <section><h2>PnL</h2><table><thead><tr><th>quote</th><th>realized</th><th>unrealized</th><th>fees</th><th>net</th></tr></thead><tbody id="pnl"></tbody></table></section>
</div>
<h2>Live blotter <span id="count">0</span> events</h2>
<table id="blotter"><thead><tr><th>time</th><th>type</th><th>intent</th><th>account</th><th>detail</th></tr></thead><tbody id="events"></tbody></table>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const cell = (tr, text, cls) => { const td = document.createElement('td'); td.textContent = text == null ? '' : String(text); if (cls) td.className = cls; tr.appendChild(td); };
  const row = (tbody, values, cls) => { const tr = document.createElement('tr'); values.forEach((v, i) => cell(tr, v, i === 1 ? cls : undefined)); tbody.appendChild(tr); return tr; };
  const fill = (id, rows) => { const t = $(id); t.replaceChildren(); rows.forEach((r) => row(t, r.values, r.cls)); };
  let count = 0;
  function detail(e) {
    const d = e.data || {};
    if (d.order) return d.order.side + ' ' + d.order.qty + ' ' + d.order.instrument_id;
    if (d.fill) return d.fill.qty + ' @ ' + d.fill.price;
    if (d.reason) return d.reason;
    if (d.code) return d.code;
    return '';
  }
  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/feed?from=end');
    ws.onopen = () => { $('connection').textContent = 'live'; };
    ws.onclose = () => { $('connection').textContent = 'reconnecting…'; setTimeout(connect, 1000); };
    ws.onmessage = (m) => {
      const batch = JSON.parse(m.data);
      const tbody = $('events');
      for (const x of batch) {
        const tr = document.createElement('tr');
        tr.dataset.type = x.type;
        [x.event.ts, x.type, x.event.intent_id, x.event.account, detail(x.event)].forEach((v) => cell(tr, v));
        tbody.insertBefore(tr, tbody.firstChild);
        count++;
      }
      while (tbody.childElementCount > 500) tbody.removeChild(tbody.lastChild);
      $('count').textContent = String(count);
    };
  }
  async function refresh() {
    try {
      const [status, positions, pnl] = await Promise.all(['/status', '/positions', '/pnl'].map((u) => fetch(u).then((r) => r.json())));
      $('role').textContent = status.role + ' on ' + status.bus;
      const states = Object.entries(status.trading_states).map(([scope, s]) => ({ values: [scope, s.mode, s.by, s.reason], cls: s.mode }));
      fill('states', states.length ? states : [{ values: ['global', 'ACTIVE', '', ''], cls: 'ACTIVE' }]);
      fill('venues', Object.entries(status.venues).map(([v, s]) => ({ values: [v, s.halted ? 'halted: ' + s.halted : s.quarantined ? 'quarantined: ' + s.quarantined : 'up'] })));
      fill('positions', positions.positions.filter((p) => p.qty !== '0').map((p) => ({ values: [p.account, p.instrument_id, p.qty, p.avg_cost, p.unrealized_pnl ?? 'no mark'] })));
      fill('pnl', Object.entries(pnl.by_quote).map(([q, t]) => ({ values: [q, t.realized, t.unrealized, t.fees, t.net] })));
    } catch (e) { $('message').textContent = 'refresh failed: ' + e.message; }
  }
  async function act(command) {
    let token = sessionStorage.getItem('fillstream-token');
    if (!token) { token = prompt('Operator token'); if (!token) return; }
    const r = await fetch('/control/' + command, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify({ scope: $('scope').value, reason: $('reason').value }) });
    const body = await r.json();
    if (r.status === 401) sessionStorage.removeItem('fillstream-token'); else if (r.ok) sessionStorage.setItem('fillstream-token', token);
    $('message').textContent = r.ok ? command + ' sent (' + body.event_id + ')' : 'refused: ' + body.error;
    refresh();
  }
  $('halt').onclick = () => act('halt');
  $('resume').onclick = () => act('resume');
  connect();
  refresh();
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
`;
