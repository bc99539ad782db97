// The API fuzzed by an independent tool: schemathesis (PyPI) reads the OpenAPI document the server
// serves, generates valid and invalid requests for every operation (with the operator token and
// without), and checks every response: no 5xx, each matches its declared schema and status codes,
// invalid input is refused and valid input is not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateIntents } from '../../src/tools/generate.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { ALICE, serveInProcess, type Served } from '../helpers/serve.js';

describe('schemathesis against fillstream serve', () => {
  let s: Served;
  before(async () => {
    const dir = tempDir('schemathesis');
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, [...generateIntents({ count: 300, seed: 5 })].join('\n') + '\n');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents });
  });
  after(async () => {
    await s?.stop();
  });

  for (const auth of [true, false]) {
    it(`finds no failure in any operation ${auth ? 'as an operator' : 'without a token'}`, async () => {
      const args = ['run', `${s.url}/openapi.json`, '--checks', 'all', '--max-examples', '40', '--seed', '7', '--no-color'];
      if (auth) args.push('-H', `Authorization: Bearer ${ALICE.token}`);
      // Asynchronously: the server under test answers from this process's event loop.
      const child = spawn(join(ROOT, 'infra/dev/schemathesis.sh'), args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(status, 0, out.slice(-4_000));
      assert.match(out, /16 passed/);
      assert.doesNotMatch(out, /\d+ failures?/);
    });
  }
});
