// The load side of bench/ops.ts, in a process of its own so it never shares the server's CPU time
// slice: `http URL ORDERS CONNECTIONS SECONDS` (GET /orders pages), `ws URL N` (N feed
// subscribers, counting events until SIGUSR2), `sink` (an OTLP/HTTP endpoint that discards).
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { WebSocket } from 'ws';

const [mode, ...args] = process.argv.slice(2);

async function http(url: string, orders: number, connections: number, seconds: number): Promise<void> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  const warmupEnd = performance.now() + 1_000;
  const end = warmupEnd + seconds * 1_000;
  let i = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const n = i++;
      const cursor = Math.floor(Math.random() * Math.max(1, orders - 100)).toString(36);
      // One request in five filters by account, as a blotter for one desk would.
      const path = n % 5 === 0 ? `/orders?limit=100&account=acct-${n % 7}&cursor=c${cursor}` : `/orders?limit=100&cursor=c${cursor}`;
      const t0 = performance.now();
      const r = await pool.request({ path, method: 'GET' });
      await r.body.arrayBuffer();
      const t = performance.now();
      if (r.statusCode !== 200) errors++;
      if (!measuring && t >= warmupEnd) measuring = true;
      if (measuring) latencies.push(t - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => +latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2);
  console.log(JSON.stringify({ rps: Math.round(latencies.length / seconds), p50: q(0.5), p99: q(0.99), requests: latencies.length, errors }));
}

async function ws(url: string, n: number): Promise<void> {
  let delivered = 0;
  let first = 0;
  let last = 0;
  const sockets = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = new WebSocket(`${url.replace('http', 'ws')}/feed?from=end`, { perMessageDeflate: false });
      s.on('message', (m: Buffer) => {
        const batch = JSON.parse(m.toString('utf8')) as unknown[];
        const now = performance.now();
        if (first === 0) first = now;
        last = now;
        delivered += batch.length;
      });
      await new Promise((r, j) => {
        s.once('open', r);
        s.once('error', j);
      });
      return s;
    }),
  );
  console.log('READY');
  process.on('SIGUSR2', () => {
    for (const s of sockets) s.close();
    console.log(JSON.stringify({ delivered, seconds: Math.max(0.001, (last - first) / 1000) }));
    process.exit(0);
  });
}

function sink(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(String((server.address() as { port: number }).port)));
}

if (mode === 'http') await http(args[0], Number(args[1]), Number(args[2]), Number(args[3]));
else if (mode === 'ws') await ws(args[0], Number(args[1]));
else if (mode === 'sink') sink();
else throw new Error(`ops-load: no mode ${mode}`);
