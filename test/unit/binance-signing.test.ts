// Binance HMAC signing against the official examples.
// REST: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
//   (binance/binance-spot-api-docs rest-api.md, "SIGNED Endpoint Examples for POST /api/v3/order", HMAC Keys)
// WebSocket API: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-api/request-security
//   (web-socket-api.md, "SIGNED request example (HMAC)")
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeParams, hmacSha256Hex, signatureMatches, signRest, signWsParams, wsSignaturePayload } from '../../src/venues/binance/signing.js';

const SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';
const API_KEY = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';

test('REST: the documented LTCBTC order signs to the documented signature', () => {
  const query = encodeParams({ symbol: 'LTCBTC', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: 1, price: '0.1', recvWindow: 5000, timestamp: 1499827319559 });
  assert.equal(query, 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559');
  assert.equal(signRest(SECRET, query), 'c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71');
});

test('REST: a non-ASCII symbol is percent-encoded before signing, as documented', () => {
  const query = encodeParams({ symbol: '１２３４５６', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: 1, price: '0.1', recvWindow: 5000, timestamp: 1499827319559 });
  assert.equal(
    query,
    'symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559',
  );
  assert.equal(signRest(SECRET, query), 'e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3');
});

// The docs before binance-spot-api-docs commit f83a5bf showed query and body mixed: the payload
// is the query string followed directly by the body, with no '&' between them.
test('REST: query string and body are concatenated without a separator (documented mixed example)', () => {
  const sig = signRest(SECRET, 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC', 'quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559');
  assert.equal(sig, '0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77');
});

test('WebSocket API: params sorted by name, signed unencoded (both documented examples)', () => {
  const ascii = {
    symbol: 'BTCUSDT',
    side: 'SELL',
    type: 'LIMIT',
    timeInForce: 'GTC',
    quantity: '0.01000000',
    price: '52000.00',
    recvWindow: 100,
    timestamp: 1645423376532,
    apiKey: API_KEY,
  };
  assert.equal(
    wsSignaturePayload(ascii),
    `apiKey=${API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT`,
  );
  assert.equal(signWsParams(SECRET, ascii), 'aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24');
  const unicode = {
    symbol: '１２３４５６',
    side: 'BUY',
    type: 'LIMIT',
    timeInForce: 'GTC',
    quantity: '1.00000000',
    price: '0.10000000',
    recvWindow: 5000,
    timestamp: 1645423376532,
    apiKey: API_KEY,
  };
  assert.equal(signWsParams(SECRET, { ...unicode, signature: 'ignored' }), 'b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd');
});

test('signatures compare case-insensitively (HMAC hex) and reject anything else', () => {
  const sig = hmacSha256Hex(SECRET, 'a=1');
  assert.ok(signatureMatches(sig, sig.toUpperCase()));
  assert.ok(!signatureMatches(sig, sig.slice(1)));
  assert.ok(!signatureMatches(sig, hmacSha256Hex(SECRET + 'x', 'a=1')));
});
