import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authHeaders, prehash, sameSignature, signPassphrase, signRequest } from '../../src/venues/kucoin/signing.js';

// The worked example of KuCoin's official API docs, "Signing a Message" ("Example for Create
// Deposit Address"): https://docs.kucoin.com/#signing-a-message
// (source: github.com/Kucoin/kucoin-api-docs, source/localizable/index.html.md).
const DOC = {
  secret: 'f03a5284-5c39-4aaa-9b20-dea10bdcf8e3',
  timestamp: '1547015186532',
  method: 'POST',
  endpoint: '/api/v1/deposit-addresses',
  body: '{"currency":"BTC"}',
  prehash: '1547015186532POST/api/v1/deposit-addresses{"currency":"BTC"}',
  sign: '7QP/oM0ykidMdrfNEUmng8eZjg/ZvPafjIqmxiVfYu4=',
};

test('the docs example: prehash string and KC-API-SIGN', () => {
  assert.equal(prehash(DOC.timestamp, DOC.method, DOC.endpoint, DOC.body), DOC.prehash);
  assert.equal(signRequest(DOC.secret, DOC.timestamp, DOC.method, DOC.endpoint, DOC.body), DOC.sign);
});

test('the method is upper-cased and a GET signs its query string with an empty body', () => {
  const lower = signRequest(DOC.secret, DOC.timestamp, 'post', DOC.endpoint, DOC.body);
  assert.equal(lower, DOC.sign);
  const get = signRequest(DOC.secret, DOC.timestamp, 'GET', '/api/v1/deposit-addresses?currency=BTC');
  assert.equal(prehash(DOC.timestamp, 'GET', '/api/v1/deposit-addresses?currency=BTC', ''), '1547015186532GET/api/v1/deposit-addresses?currency=BTC');
  assert.notEqual(get, signRequest(DOC.secret, DOC.timestamp, 'GET', '/api/v1/deposit-addresses'));
});

test('key version 2 sends the passphrase HMAC-SHA256 signed with the secret, base64', () => {
  const h = authHeaders({ key: 'k1', secret: DOC.secret, passphrase: 'my-pass', timestampMs: DOC.timestamp, method: 'POST', endpoint: DOC.endpoint, body: DOC.body });
  assert.deepEqual(Object.keys(h).sort(), ['KC-API-KEY', 'KC-API-KEY-VERSION', 'KC-API-PASSPHRASE', 'KC-API-SIGN', 'KC-API-TIMESTAMP']);
  assert.equal(h['KC-API-SIGN'], DOC.sign);
  assert.equal(h['KC-API-KEY-VERSION'], '2');
  assert.equal(h['KC-API-PASSPHRASE'], signPassphrase(DOC.secret, 'my-pass'));
  assert.notEqual(h['KC-API-PASSPHRASE'], 'my-pass');
  assert.equal(Buffer.from(h['KC-API-PASSPHRASE'], 'base64').length, 32);
});

test('signature comparison', () => {
  assert.equal(sameSignature(DOC.sign, DOC.sign), true);
  assert.equal(sameSignature(DOC.sign, DOC.sign.slice(1)), false);
  assert.equal(sameSignature(DOC.sign, signRequest('wrong', DOC.timestamp, 'POST', DOC.endpoint, DOC.body)), false);
});
