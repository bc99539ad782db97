import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { credentialsFromEnv, kucoinConfig } from '../../src/venues/kucoin/config.js';

const NAMES = { api_key: 'KC_KEY', api_secret: 'KC_SECRET', passphrase: 'KC_PASS' };

test('credentials from variables, or from <VAR>_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kucoin-creds-'));
  writeFileSync(join(dir, 'secret'), 'file-secret-value\n');
  const c = credentialsFromEnv(NAMES, { KC_KEY: 'key-1', KC_SECRET_FILE: join(dir, 'secret'), KC_PASS: 'pass-value' });
  assert.equal(c.api_key, 'key-1');
  assert.equal(c.api_secret, 'file-secret-value');
  assert.equal(c.passphrase, 'pass-value');
  const shown = JSON.stringify(c) + inspect(c);
  assert.ok(!shown.includes('file-secret-value') && !shown.includes('pass-value'), shown);
  assert.ok(shown.includes('key-1'));
});

test('a missing credential is named, never shown', () => {
  assert.throws(() => credentialsFromEnv(NAMES, { KC_KEY: 'key-1', KC_PASS: 'pass-value' }), /KC_SECRET or KC_SECRET_FILE/);
  assert.throws(
    () => credentialsFromEnv(NAMES, { KC_KEY: 'key-1', KC_SECRET: 'secret-value' }),
    (e: Error) => e.message.includes('KC_PASS') && !e.message.includes('secret-value'),
  );
  assert.throws(() => credentialsFromEnv(NAMES, { KC_KEY: 'k', KC_SECRET_FILE: '/nonexistent/kc', KC_PASS: 'p' }), /KC_SECRET: cannot read KC_SECRET_FILE \(ENOENT\)/);
  assert.throws(() => credentialsFromEnv({ api_key: 'A', api_secret: 'B' }, { A: 'a', B: 'b' }), /passphrase/);
});

test('the config redacts its secret and passphrase in JSON and inspect, and keeps them for use', () => {
  const c = kucoinConfig({ env: 'prod', rest_url: 'https://api.kucoin.com', ws_url: '', api_key: 'key-1', api_secret: 'the-secret-xyz', passphrase: 'the-pass-xyz' });
  assert.equal(c.api_secret, 'the-secret-xyz');
  for (const text of [JSON.stringify(c), inspect(c), JSON.stringify({ nested: c })]) {
    assert.ok(!text.includes('the-secret-xyz') && !text.includes('the-pass-xyz'), text);
    assert.ok(text.includes('key-1') && text.includes('redacted'), text);
  }
});
