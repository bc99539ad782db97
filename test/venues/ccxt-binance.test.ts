// ccxt's Binance client, unchanged, against the Binance emulator: proof that the emulator speaks
// Binance's protocol (paths, signing, field names, error codes), not a dialect of our own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ccxt from 'ccxt';
import { dec, fmt } from '../../src/domain/decimal.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { startBinanceEmulator, type BinanceEmulator } from '../../src/venues/binance/index.js';
import { API_KEY, API_SECRET } from './binance-helpers.js';

function client(emu: BinanceEmulator, secret: string) {
  const exchange = new ccxt.binance({ apiKey: API_KEY, secret, options: { fetchCurrencies: false, fetchMargins: false, defaultType: 'spot', fetchMarkets: { types: ['spot'] } } });
  // Every spot base ccxt composes (api/v3, api/v1, sapi) points at the emulator.
  const api = exchange.urls.api as Record<string, string>;
  for (const key of Object.keys(api)) {
    const path = new URL(api[key]).pathname;
    api[key] = `${emu.url}${path}`;
  }
  return exchange;
}

test('ccxt binance: load markets, order book, create, fetch and cancel a LIMIT order', async () => {
  const emu = await startBinanceEmulator({ apiKey: API_KEY, apiSecret: API_SECRET, market: createSyntheticMarket({ seed: 7 }) });
  try {
    const ex = client(emu, API_SECRET);
    const markets = await ex.loadMarkets();
    assert.ok(markets['BTC/USDT'], 'BTC/USDT is listed');
    assert.equal(markets['BTC/USDT'].id, 'BTCUSDT');
    assert.equal(markets['BTC/USDT'].precision.price, 0.01);
    assert.equal(markets['BTC/USDT'].limits.cost?.min, 5);

    const book = await ex.fetchOrderBook('BTC/USDT', 5);
    assert.equal(book.bids.length, 5);
    assert.ok(book.bids[0][0]! < book.asks[0][0]!, 'best bid below best ask');

    const bid = Number(emu.exchange.book('BTCUSDT')!.bids[0].price.toString());
    const price = Math.floor(bid * 0.9);
    const created = await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, price, { newClientOrderId: 'ccxt-test-order-1' });
    assert.equal(created.status, 'open');
    assert.equal(created.clientOrderId, 'ccxt-test-order-1');
    assert.equal(emu.exchange.placements.get('ccxt-test-order-1'), 1);

    const fetched = await ex.fetchOrder(created.id!, 'BTC/USDT');
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.status, 'open');
    assert.equal(fetched.price, price);
    assert.equal(fetched.amount, 0.001);

    const canceled = await ex.cancelOrder(created.id!, 'BTC/USDT');
    assert.equal(canceled.status, 'canceled');
    assert.equal(emu.exchange.get({ client_order_id: 'ccxt-test-order-1' })?.status, 'CANCELED');
  } finally {
    await emu.close();
  }
});

test("ccxt binance with a wrong secret: refused with Binance's -1022, mapped by ccxt", async () => {
  const emu = await startBinanceEmulator({ apiKey: API_KEY, apiSecret: API_SECRET, market: createSyntheticMarket({ seed: 7 }) });
  try {
    const ex = client(emu, 'wrong-secret-0123456789');
    await ex.loadMarkets();
    await assert.rejects(ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 1000), (e: Error) => {
      assert.ok(e instanceof ccxt.AuthenticationError, `${e.name}: ${e.message}`);
      assert.match(e.message, /-1022/);
      return true;
    });
    assert.equal(emu.exchange.placements.size, 0);
  } finally {
    await emu.close();
  }
});

test('ccxt binance fetchBalance reads the emulated account from /api/v3/account: free, locked by a resting order, total', async () => {
  const emu = await startBinanceEmulator({ apiKey: API_KEY, apiSecret: API_SECRET, market: createSyntheticMarket({ seed: 7 }), balances: { USDT: '1000', BTC: '1' } });
  try {
    const ex = client(emu, API_SECRET);
    await ex.loadMarkets();
    const price = Math.floor(Number(emu.exchange.book('BTCUSDT')!.bids[0].price.toString()) * 0.9);
    await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, price);
    const locked = dec('0.001').times(dec(String(price)));
    const b = await ex.fetchBalance();
    assert.deepEqual([b.USDT?.free, b.USDT?.used, b.USDT?.total], [Number(fmt(dec('1000').minus(locked))), Number(fmt(locked)), 1000]);
    assert.deepEqual([b.BTC?.free, b.BTC?.used, b.BTC?.total], [1, 0, 1]);
  } finally {
    await emu.close();
  }
});
