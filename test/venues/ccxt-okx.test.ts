// ccxt's OKX client (unchanged, only its REST URL pointed at the emulator) against the OKX
// emulator: it signs, calls and parses as it does against OKX, so the emulator speaks OKX v5.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ccxt from 'ccxt';
import { dec, fmt } from '../../src/domain/decimal.js';
import { startOkxEmulator } from '../../src/venues/okx/index.js';
import { bookOf, KEY, PASSPHRASE, SECRET, stillMarket, tick } from './okx-fixture.js';

function client(url: string, secret: string) {
  const ex = new ccxt.okx({ apiKey: KEY, secret, password: PASSPHRASE, options: { fetchMarkets: { types: ['spot'] } } });
  ex.urls.api = { rest: url };
  // /asset/currencies is outside the spot trading subset the emulator serves.
  ex.has.fetchCurrencies = false;
  return ex;
}

test('ccxt okx: markets, order book, create / fetch / cancel a limit order', async () => {
  const market = stillMarket();
  const emu = await startOkxEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market, demo: false });
  try {
    const ex = client(emu.url, SECRET);
    const markets = await ex.loadMarkets();
    const btc = markets['BTC/USDT'];
    assert.ok(btc);
    assert.equal(btc.id, 'BTC-USDT');
    assert.equal(btc.spot, true);
    assert.equal(btc.precision.price, 0.1);
    assert.equal(btc.limits.amount?.min, 0.00001);

    const book = await ex.fetchOrderBook('BTC/USDT', 5);
    const expected = bookOf(market);
    assert.equal(book.bids.length, 5);
    assert.equal(book.bids[0][0], Number(expected.bids[0].price.toString()));
    assert.equal(book.asks[0][0], Number(expected.asks[0].price.toString()));

    const price = Number(tick(expected.bids[0].price.times('0.9')));
    const created = await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, price);
    assert.ok(created.id);
    assert.equal(emu.exchange.open().length, 1);

    const fetched = await ex.fetchOrder(created.id, 'BTC/USDT');
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.status, 'open');
    assert.equal(fetched.price, price);
    assert.equal(fetched.amount, 0.01);
    assert.equal(fetched.side, 'buy');
    assert.equal(fetched.type, 'limit');
    assert.equal(fetched.clientOrderId, created.clientOrderId);

    await ex.cancelOrder(created.id, 'BTC/USDT');
    const after = await ex.fetchOrder(created.id, 'BTC/USDT');
    assert.equal(after.status, 'canceled');
    assert.equal(emu.exchange.open().length, 0);
  } finally {
    await emu.close();
  }
});

test('ccxt okx with a wrong secret: OKX 50113, mapped by ccxt to AuthenticationError; nothing placed', async () => {
  const market = stillMarket();
  const emu = await startOkxEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market, demo: false });
  try {
    const ex = client(emu.url, 'NOT-THE-SECRET');
    await ex.loadMarkets(); // public: no signature
    const price = Number(tick(bookOf(market).bids[0].price.times('0.9')));
    await assert.rejects(ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, price), (e: Error) => {
      assert.ok(e instanceof ccxt.AuthenticationError, `${e.name}: ${e.message}`);
      assert.match(e.message, /50113/);
      return true;
    });
    assert.equal(emu.exchange.placementRequests.size, 0);
  } finally {
    await emu.close();
  }
});

test('ccxt okx fetchBalance reads the emulated account from /api/v5/account/balance: availBal, frozenBal, eq', async () => {
  const market = stillMarket();
  const emu = await startOkxEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market, demo: false, balances: { USDT: '1000', BTC: '1' } });
  try {
    const ex = client(emu.url, SECRET);
    await ex.loadMarkets();
    const price = tick(bookOf(market).bids[0].price.times('0.9'));
    await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, Number(price));
    const frozen = dec('0.01').times(dec(price));
    const b = await ex.fetchBalance();
    assert.deepEqual([b.USDT?.free, b.USDT?.used, b.USDT?.total], [Number(fmt(dec('1000').minus(frozen))), Number(fmt(frozen)), 1000]);
    assert.deepEqual([b.BTC?.free, b.BTC?.used, b.BTC?.total], [1, 0, 1]);
  } finally {
    await emu.close();
  }
});
