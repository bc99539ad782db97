// Operator tokens for the control endpoints: `name:token` pairs from FILLSTREAM_OPERATOR_TOKENS
// (comma-separated) or from the file FILLSTREAM_OPERATOR_TOKENS_FILE names (one pair a line, #
// comments). The file is read again when it changes, so a token is rotated by adding the new one,
// moving callers over, then removing the old one: no restart.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

interface Entry {
  name: string;
  digest: Buffer;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Parses `name:token` pairs; errors name the line, never the token. */
export function parseTokens(text: string, where: string): Entry[] {
  const out: Entry[] = [];
  text.split(/[\n,]/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    const token = colon > 0 ? line.slice(colon + 1).trim() : '';
    if (!name || !token) throw new Error(`${where}: entry ${i + 1} is not name:token`);
    if (token.length < 16) throw new Error(`${where}: the token of ${name} is shorter than 16 characters`);
    out.push({ name, digest: digest(token) });
  });
  return out;
}

export class OperatorTokens {
  private entries: Entry[] = [];
  private fileStamp = '';
  /** Why the tokens file was last refused (the previous tokens stay in force). */
  lastError: string | undefined;

  constructor(private readonly source: { env?: string; file?: string }) {
    this.reload();
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): OperatorTokens {
    return new OperatorTokens({ env: env.FILLSTREAM_OPERATOR_TOKENS || undefined, file: env.FILLSTREAM_OPERATOR_TOKENS_FILE || undefined });
  }

  /** How many tokens are configured (none: every control call is refused). */
  get size(): number {
    this.reload();
    return this.entries.length;
  }

  /**
   * The operator a bearer token belongs to, or undefined. Every configured token is compared, each
   * over equal-length SHA-256 digests with timingSafeEqual, so the time taken says nothing of
   * which token or how much of one matched.
   */
  operatorOf(token: string | undefined): string | undefined {
    this.reload();
    if (token === undefined || token === '') return undefined;
    const given = digest(token);
    let found: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(given, e.digest) && found === undefined) found = e.name;
    return found;
  }

  private reload(): void {
    const fromEnv = this.source.env ? parseTokens(this.source.env, 'FILLSTREAM_OPERATOR_TOKENS') : [];
    let fromFile: Entry[] | undefined;
    if (this.source.file) {
      const st = statSync(this.source.file, { throwIfNoEntry: false });
      const stamp = st ? `${st.mtimeMs}/${st.size}/${st.ino}` : 'missing';
      if (stamp === this.fileStamp) return;
      const first = this.fileStamp === '';
      this.fileStamp = stamp;
      try {
        fromFile = st ? parseTokens(readFileSync(this.source.file, 'utf8'), `FILLSTREAM_OPERATOR_TOKENS_FILE ${this.source.file}`) : [];
      } catch (e) {
        // A file half edited keeps the tokens in force; only a bad file at start stops the process.
        if (first) throw e;
        this.lastError = (e as Error).message;
        return;
      }
      this.lastError = undefined;
    }
    this.entries = [...fromEnv, ...(fromFile ?? [])];
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
