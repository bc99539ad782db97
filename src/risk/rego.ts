// Compliance rules written in Rego (policies/rego/, docs/rego.md), compiled to WebAssembly by
// `opa build` (rego-build.ts) and evaluated here, in process. No file or process I/O: a bundle is
// bytes and data, wherever they came from (a build, the log).
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/hash.js';

/** The rule every compliance bundle is built for (`opa build -e`). */
export const REGO_ENTRYPOINT = 'fillstream/compliance/decision';

export interface RegoFinding {
  code: string;
  message: string;
}

export interface RegoVerdict {
  deny: RegoFinding[];
  warn: RegoFinding[];
  simulate: boolean;
}

export interface RegoBundle {
  wasm: Uint8Array;
  data: unknown;
  /** sha256 hex over the wasm and the canonical data (regoBundleHash). */
  hash: string;
}

export interface RegoPolicy {
  readonly hash: string;
  /** Throws if the policy fails or answers anything but a verdict: never a silent allow. */
  evaluate(input: unknown): RegoVerdict;
}

/**
 * sha256 hex over the wasm's length (8 bytes, big-endian), the wasm, then the data as canonical
 * JSON (sorted keys). The length prefix keeps the boundary between the two unambiguous.
 */
export function regoBundleHash(wasm: Uint8Array, data: unknown): string {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(wasm.byteLength));
  return createHash('sha256').update(length).update(wasm).update(canonicalJson(data)).digest('hex');
}

export async function loadRegoPolicy(bundle: RegoBundle): Promise<RegoPolicy> {
  if (!isObject(bundle.data)) throw new Error(`Rego bundle data must be a JSON object (got ${preview(bundle.data)})`);
  const hash = regoBundleHash(bundle.wasm, bundle.data);
  if (hash !== bundle.hash) throw new Error(`Rego bundle hash mismatch: the bundle says ${bundle.hash}, its wasm and data hash to ${hash}`);
  let loaded: LoadedPolicy;
  try {
    loaded = await loadPolicy(bundle.wasm);
  } catch (e) {
    throw new Error(`Rego policy ${hash.slice(0, 12)}: the wasm does not load: ${describe(e)}`, { cause: e });
  }
  const entrypoints = loaded.entrypoints as Record<string, number>;
  const entrypoint = entrypoints[REGO_ENTRYPOINT];
  if (typeof entrypoint !== 'number') {
    const has = Object.keys(entrypoints).join(', ') || 'none';
    throw new Error(`Rego policy ${hash.slice(0, 12)} lacks the entrypoint ${REGO_ENTRYPOINT} (it has: ${has}); build it with opa build -e ${REGO_ENTRYPOINT}`);
  }
  try {
    loaded.setData(bundle.data);
  } catch (e) {
    throw new Error(`Rego policy ${hash.slice(0, 12)}: its data does not load: ${describe(e)}`, { cause: e });
  }
  const run = evaluator(loaded, entrypoint);
  return {
    hash,
    evaluate(input: unknown): RegoVerdict {
      let resultSet: unknown;
      try {
        resultSet = run(input);
      } catch (e) {
        throw new Error(`Rego policy ${hash.slice(0, 12)} failed: ${describe(e)}`, { cause: e });
      }
      return verdictOf(resultSet, hash);
    },
  };
}

// The parts of the wasm instance used here (lib has no WebAssembly types without the DOM's).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface OpaExports {
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLength: number, heap: number, format: number): number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * LoadedPolicy.evaluate, without its copies: the input's JSON is encoded straight into the wasm
 * memory and the result decoded in place (ABI 1.2's one-call opa_eval, which the SDK's fast path
 * uses too). Policies built for an older ABI go through the SDK.
 */
function evaluator(loaded: LoadedPolicy, entrypoint: number): (input: unknown) => unknown {
  if (!((loaded.minorVersion as number) >= 2)) return (input) => loaded.evaluate(input, entrypoint) as unknown;
  const exports = (loaded.wasmInstance as { exports: unknown }).exports as OpaExports;
  const memory = loaded.mem as unknown as WasmMemory;
  // Fixed from setData on: the input goes above the data, and opa_eval's heap above the input.
  const inputAt = loaded.dataHeapPtr as number;
  const dataAt = loaded.dataAddr;
  return (input) => {
    const json = JSON.stringify(input) as string | undefined;
    let length = 0;
    if (json !== undefined) {
      const room = inputAt + json.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
      if (room > memory.buffer.byteLength) memory.grow(Math.ceil((room - memory.buffer.byteLength) / 65536));
      length = encoder.encodeInto(json, new Uint8Array(memory.buffer, inputAt)).written;
    }
    const out = exports.opa_eval(0, entrypoint, dataAt, json === undefined ? 0 : inputAt, length, inputAt + length, 0);
    // A fresh view: opa_eval may have grown the memory, which detaches the old buffer.
    const bytes = new Uint8Array(memory.buffer);
    return JSON.parse(decoder.decode(bytes.subarray(out, bytes.indexOf(0, out)))) as unknown;
  };
}

// opa-wasm throws strings and plain objects as well as Errors.
function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
  return String(e);
}

/** Checks the result set's shape and returns its verdict, findings sorted by code then message. */
function verdictOf(resultSet: unknown, hash: string): RegoVerdict {
  const bad = (what: string): never => {
    throw new Error(`Rego policy ${hash.slice(0, 12)}: ${REGO_ENTRYPOINT} ${what}`);
  };
  if (!Array.isArray(resultSet)) return bad(`gave no result set (got ${preview(resultSet)})`);
  // Empty: no body of the rule held for this input.
  if (resultSet.length !== 1) return bad(resultSet.length === 0 ? 'is undefined for this input' : `gave ${resultSet.length} results, not one`);
  const decision = (resultSet[0] as { result?: unknown }).result;
  if (!isObject(decision)) return bad(`is not an object (got ${preview(decision)})`);
  for (const key in decision) if (key !== 'deny' && key !== 'warn' && key !== 'simulate') bad(`has an unknown key "${key}" (expected deny, warn, simulate)`);
  if (typeof decision.simulate !== 'boolean') bad(`simulate is not a boolean (got ${preview(decision.simulate)})`);
  return { deny: findings(decision.deny, 'deny', bad), warn: findings(decision.warn, 'warn', bad), simulate: decision.simulate as boolean };
}

function findings(list: unknown, name: string, bad: (what: string) => never): RegoFinding[] {
  if (!Array.isArray(list)) return bad(`${name} is not an array (got ${preview(list)})`);
  const checked = list as RegoFinding[];
  let sorted = true;
  for (let i = 0; i < checked.length; i++) {
    checkFinding(list[i], `${name}[${i}]`, bad);
    if (i > 0 && compareFindings(checked[i - 1], checked[i]) > 0) sorted = false;
  }
  // The parsed arrays are ours: sort in place, and only when the policy did not.
  return sorted ? checked : checked.sort(compareFindings);
}

function checkFinding(f: unknown, at: string, bad: (what: string) => never): void {
  if (!isObject(f)) return bad(`${at} is not an object (got ${preview(f)})`);
  if (typeof f.code !== 'string' || f.code === '') bad(`${at}.code is not a non-empty string (got ${preview(f.code)})`);
  if (typeof f.message !== 'string') bad(`${at}.message is not a string (got ${preview(f.message)})`);
  for (const key in f) if (key !== 'code' && key !== 'message') bad(`${at} has an unknown key "${key}" (expected code, message)`);
}

function compareFindings(a: RegoFinding, b: RegoFinding): number {
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
