// A small client for Toxiproxy's HTTP API (infra/dev/toxiproxy.sh; TOXIPROXY_URL, set by `make
// test`): proxies on free local ports in front of a server, and the faults ("toxics") put on them.
import { randomUUID } from 'node:crypto';

export function toxiproxyUrl(): string {
  const url = process.env.TOXIPROXY_URL ?? '';
  if (url === '') throw new Error('TOXIPROXY_URL is not set: run the fault tests through `make test`, which starts Toxiproxy (infra/dev/toxiproxy.sh)');
  return url.replace(/\/+$/, '');
}

/** Which way a toxic acts: on what the server sends back (downstream) or on what the client sends (upstream). */
export type Stream = 'downstream' | 'upstream';

/** The toxics of Toxiproxy 2.x and their attributes (times in ms, rate in KB/s). */
export type ToxicSpec =
  | { type: 'latency'; attributes: { latency: number; jitter?: number } }
  | { type: 'bandwidth'; attributes: { rate: number } }
  | { type: 'slow_close'; attributes: { delay: number } }
  | { type: 'timeout'; attributes: { timeout: number } }
  | { type: 'reset_peer'; attributes: { timeout: number } }
  | { type: 'slicer'; attributes: { average_size: number; size_variation?: number; delay?: number } }
  | { type: 'limit_data'; attributes: { bytes: number } };

async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(base + path, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`Toxiproxy ${method} ${path}: ${r.status} ${text.trim()}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export class Toxiproxy {
  constructor(readonly url = toxiproxyUrl()) {}

  async version(): Promise<string> {
    return (await call<{ version: string }>(this.url, 'GET', '/version')).version;
  }

  /**
   * A proxy to `upstream` (host:port) on a free 127.0.0.1 port. The name gets a random suffix: the
   * server is shared, and another test's proxies are not ours to touch.
   */
  async createProxy(name: string, upstream: string): Promise<Proxy> {
    const unique = `${name}-${randomUUID().slice(0, 8)}`;
    const p = await call<{ name: string; listen: string }>(this.url, 'POST', '/proxies', { name: unique, listen: '127.0.0.1:0', upstream, enabled: true });
    return new Proxy(this.url, p.name, p.listen);
  }
}

export class Proxy {
  private readonly path: string;
  private toxics = 0;

  constructor(
    private readonly base: string,
    readonly name: string,
    /** host:port where clients connect; it stays the same across disable and enable. */
    readonly listen: string,
  ) {
    this.path = `/proxies/${encodeURIComponent(name)}`;
  }

  get port(): number {
    return Number(this.listen.slice(this.listen.lastIndexOf(':') + 1));
  }

  /** Points the proxy elsewhere (it restarts on the same port, cutting open connections). */
  async setUpstream(upstream: string): Promise<void> {
    await call(this.base, 'PATCH', this.path, { upstream });
  }

  /** The server "goes down": existing connections are closed, new ones refused. */
  async disable(): Promise<void> {
    await call(this.base, 'PATCH', this.path, { enabled: false });
  }

  async enable(): Promise<void> {
    await call(this.base, 'PATCH', this.path, { enabled: true });
  }

  /** Adds a toxic to every connection, open and new; returns its name, for removeToxic. */
  async addToxic(spec: ToxicSpec, stream: Stream = 'downstream', toxicity = 1): Promise<string> {
    const name = `${spec.type}-${stream}-${++this.toxics}`;
    await call(this.base, 'POST', `${this.path}/toxics`, { name, type: spec.type, stream, toxicity, attributes: spec.attributes });
    return name;
  }

  async removeToxic(name: string): Promise<void> {
    await call(this.base, 'DELETE', `${this.path}/toxics/${encodeURIComponent(name)}`);
  }

  /** Every toxic gone and the proxy enabled: the link as it was. */
  async heal(): Promise<void> {
    const toxics = await call<{ name: string }[]>(this.base, 'GET', `${this.path}/toxics`);
    for (const t of toxics) await this.removeToxic(t.name);
    await this.enable();
  }

  async delete(): Promise<void> {
    await call(this.base, 'DELETE', this.path);
  }
}
