// Compiles a directory of Rego policies to a wasm bundle with the real `opa` binary (adapter: it
// spawns opa and uses temp files). The result is plain data for loadRegoPolicy (rego.ts).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { REGO_ENTRYPOINT, regoBundleHash, type RegoBundle } from './rego.js';

/** Keep in step with infra/dev/opa.sh. */
export const OPA_VERSION = 'v1.22.4';

/** The opa to use: $FILLSTREAM_OPA, else the one infra/dev/opa.sh builds under the repo root. */
export function findOpa(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.FILLSTREAM_OPA;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`FILLSTREAM_OPA is ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  // The repo root is the nearest folder above this file with a package.json (src/, dist/ and dist-bench/src/ all sit below it).
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  const built = join(root, '.cache', 'opa', OPA_VERSION, 'bin', 'opa');
  if (!existsSync(built)) {
    throw new Error(`no opa binary at ${built}: run infra/dev/opa.sh fetch (builds OPA ${OPA_VERSION} once), or set FILLSTREAM_OPA to an opa binary`);
  }
  return built;
}

/**
 * `opa build -t wasm -e fillstream/compliance/decision` over the directory's .rego files (not the
 * *_test.rego ones) and its data.json, if any. A policy that does not compile gives an Error with
 * opa's own message (file:line, relative to `dir`).
 */
export async function compileRegoDir(dir: string, opaBin: string): Promise<RegoBundle & { files: string[] }> {
  const files = await regoFiles(dir);
  if (files.length === 0) throw new Error(`no Rego policy in ${dir}: no .rego files besides *_test.rego`);
  if (existsSync(join(dir, 'data.json'))) files.push('data.json');
  const out = await mkdtemp(join(tmpdir(), 'fillstream-rego-'));
  try {
    const tarball = join(out, 'bundle.tar.gz');
    // Relative paths from inside the directory: opa writes file names into the wasm, and the
    // bundle hash must not depend on where the repo is checked out.
    // A relative opa path is the caller's, not relative to `dir`.
    const bin = opaBin.includes('/') ? resolve(opaBin) : opaBin;
    await run(bin, ['build', '-t', 'wasm', '-e', REGO_ENTRYPOINT, '-o', tarball, ...files], dir);
    const entries = readTarGz(await readFile(tarball));
    const wasm = entries.get('/policy.wasm');
    if (wasm === undefined) throw new Error(`opa build of ${dir} wrote no /policy.wasm (entries: ${[...entries.keys()].join(', ')})`);
    const raw = entries.get('/data.json');
    const data: unknown = raw === undefined ? {} : JSON.parse(raw.toString('utf8'));
    return { wasm, data, hash: regoBundleHash(wasm, data), files: files.filter((f) => f.endsWith('.rego')) };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** The policy files under `dir`, relative to it, sorted so that a build is reproducible. */
async function regoFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.rego') && !e.name.endsWith('_test.rego'))
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

function run(bin: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error === null) return resolve();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        return reject(new Error(`cannot run opa at ${bin} (${code}): run infra/dev/opa.sh fetch, or set FILLSTREAM_OPA`, { cause: error }));
      }
      // opa prints its errors (file:line: rego_parse_error: ...) on stdout.
      const said = `${stdout.trim()}\n${stderr.trim()}`.trim();
      reject(new Error(`opa build failed in ${cwd}: ${said || error.message}`, { cause: error }));
    });
  });
}

/**
 * The regular files of a .tar.gz by name. Just enough of ustar for what `opa build` writes (Go's
 * archive/tar): PAX and GNU long names are honoured; links and the like are skipped.
 */
export function readTarGz(gz: Uint8Array): Map<string, Buffer> {
  const tar = gunzipSync(gz);
  const files = new Map<string, Buffer>();
  let longName: string | undefined;
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break; // end of archive
    if (checksum(header) !== octal(header, 148, 8)) throw new Error(`bundle tarball: bad header checksum at byte ${at}`);
    const size = octal(header, 124, 12);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (body.length !== size) throw new Error(`bundle tarball: entry at byte ${at} is cut short`);
    const type = String.fromCharCode(header[156] || 0x30);
    if (type === 'x') longName = paxPath(body) ?? longName;
    else if (type === 'L') longName = cString(body, 0, body.length);
    else {
      const prefix = cString(header, 345, 155);
      const name = longName ?? (prefix === '' ? '' : `${prefix}/`) + cString(header, 0, 100);
      longName = undefined;
      if (type === '0' || type === '7') files.set(name, Buffer.from(body));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function cString(b: Uint8Array, from: number, length: number): string {
  const field = b.subarray(from, from + length);
  const end = field.indexOf(0);
  return Buffer.from(field.subarray(0, end === -1 ? field.length : end)).toString('utf8');
}

function octal(b: Uint8Array, from: number, length: number): number {
  const text = cString(b, from, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new Error(`bundle tarball: bad number field "${text}"`);
  return parseInt(text, 8);
}

// The sum of the header's bytes with the checksum field itself counted as spaces.
function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum;
}

// PAX records: "<length> <key>=<value>\n"; only the path matters here.
function paxPath(body: Uint8Array): string | undefined {
  let path: string | undefined;
  for (const line of Buffer.from(body).toString('utf8').split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) path = m[1];
  }
  return path;
}
