// OKX v5 signing against the official documentation's examples.
// Inputs are OKX's own: the secret key, timestamp, request path and body shown on
//   https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature (REST),
//   https://www.okx.com/docs-v5/en/#order-book-trading-trade-post-place-order (the place-order body),
//   https://www.okx.com/docs-v5/en/#overview-websocket-login (WebSocket login prehash).
// OKX publishes no resulting signature for them, so the expected values were computed outside this
// code with `printf '%s' PREHASH | openssl dgst -sha256 -hmac SECRET -binary | base64`, and ccxt's
// OKX signer (an independent implementation) is checked to produce the same headers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ccxt from 'ccxt';
import { okxPrehash, okxTimestamp, okxWsTimestamp, sameSignature, signRest, signWsLogin } from '../../src/venues/okx/signing.js';

const SECRET = '22582BD0CFF14C41EDBF1AB98506286D';
const TS = '2020-12-08T09:08:57.715Z';
const PLACE_BODY = '{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"b15","side":"buy","ordType":"limit","px":"2.15","sz":"2"}';

test('REST GET: the documented balance request, query counted in the request path', () => {
  assert.equal(okxPrehash(TS, 'GET', '/api/v5/account/balance?ccy=BTC'), '2020-12-08T09:08:57.715ZGET/api/v5/account/balance?ccy=BTC');
  assert.equal(signRest(SECRET, TS, 'GET', '/api/v5/account/balance?ccy=BTC'), 'HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=');
});

test('REST POST: the documented place-order body is signed as sent', () => {
  assert.equal(signRest(SECRET, TS, 'post', '/api/v5/trade/order', PLACE_BODY), 'dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ=');
});

test('WebSocket login: timestamp in seconds + GET + /users/self/verify', () => {
  assert.equal(signWsLogin(SECRET, '1538054050'), '+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=');
  assert.equal(okxWsTimestamp(1538054050999), '1538054050');
});

test('timestamps: ISO 8601 UTC with milliseconds', () => {
  assert.equal(okxTimestamp(Date.parse(TS)), TS);
  assert.equal(okxTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), '2026-01-02T03:04:05.006Z');
});

test('ccxt okx signs the documented requests with the same headers', () => {
  const ex = new ccxt.okx({ apiKey: 'key', secret: SECRET, password: 'pass' });
  ex.nonce = () => Date.parse(TS);
  const get = ex.sign('account/balance', 'private', 'GET', { ccy: 'BTC' });
  assert.equal(get.headers['OK-ACCESS-TIMESTAMP'], TS);
  assert.equal(get.headers['OK-ACCESS-SIGN'], signRest(SECRET, TS, 'GET', '/api/v5/account/balance?ccy=BTC'));
  const post = ex.sign('trade/order', 'private', 'POST', JSON.parse(PLACE_BODY));
  assert.equal(post.body, PLACE_BODY);
  assert.equal(post.headers['OK-ACCESS-SIGN'], signRest(SECRET, TS, 'POST', '/api/v5/trade/order', PLACE_BODY));
});

test('a wrong secret gives another signature; comparison is exact', () => {
  const good = signRest(SECRET, TS, 'GET', '/api/v5/account/config');
  const bad = signRest(SECRET.toLowerCase(), TS, 'GET', '/api/v5/account/config');
  assert.notEqual(good, bad);
  assert.ok(sameSignature(good, good));
  assert.ok(!sameSignature(good, bad));
  assert.ok(!sameSignature(good, good.slice(1)));
});
