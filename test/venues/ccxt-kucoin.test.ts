// ccxt's own KuCoin client against the emulator: if the emulator spoke our dialect rather than
// KuCoin's protocol (paths, fields, signature, error codes), ccxt would fail here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ccxt from 'ccxt';
import { dec, fmt } from '../../src/domain/decimal.js';
import { startKucoinEmulator, type KucoinEmulator } from '../../src/venues/kucoin/index.js';
import { book, KEY, PASSPHRASE, pinnedMarket, restingBuyPrice, SECRET } from './kucoin-helpers.js';

function client(emu: KucoinEmulator, secret = SECRET) {
  const ex = new ccxt.kucoin({ apiKey: KEY, secret, password: PASSPHRASE, enableRateLimit: false });
  for (const k of Object.keys(ex.urls.api)) (ex.urls.api as Record<string, string>)[k] = emu.url;
  // Spot only: no futures/margin market lists, no ticker-based fee lookups, no currency list.
  ex.options.fetchMarkets = { ...(ex.options.fetchMarkets as object), types: ['spot'], fetchTickersFees: false };
  ex.has.fetchCurrencies = false;
  // A classic (not unified) account: ccxt would otherwise ask /api/ua/v1/account/mode first.
  ex.options.uta = false;
  return ex;
}

test('ccxt kucoin: markets, order book, create/fetch/cancel a limit order on the HF endpoints', async () => {
  const market = pinnedMarket();
  const emu = await startKucoinEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market });
  try {
    const ex = client(emu);
    const markets = await ex.loadMarkets(false, { marginables: false });
    const btc = markets['BTC/USDT'];
    assert.ok(btc, 'BTC/USDT is loaded');
    assert.equal(btc.id, 'BTC-USDT');
    assert.equal(btc.precision.price, 0.1);
    assert.equal(btc.limits.amount?.min, 0.00001);

    const ob = await ex.fetchOrderBook('BTC/USDT', 20);
    const b = book(market);
    assert.equal(ob.bids[0][0], Number(b.bids[0].price.toString()));
    assert.equal(ob.asks[0][0], Number(b.asks[0].price.toString()));
    assert.equal(ob.bids.length, 20);

    const price = Number(restingBuyPrice(market));
    const created = await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, price, { clientOid: 'ccxt-order-1' });
    const id = created.id ?? '';
    assert.match(id, /^[0-9a-f]{24}$/);
    const venue = emu.exchange.get({ client_order_id: 'ccxt-order-1' });
    assert.ok(venue, "the emulator holds the order under ccxt's clientOid");
    assert.equal(venue.qty.toString(), '0.001');
    assert.ok(
      emu.requests.some((q) => q.method === 'POST' && q.path === '/api/v1/hf/orders'),
      'ccxt placed on the HF endpoint',
    );

    const fetched = await ex.fetchOrder(id, 'BTC/USDT');
    assert.equal(fetched.id, id);
    assert.equal(fetched.clientOrderId, 'ccxt-order-1');
    assert.equal(fetched.status, 'open');
    assert.equal(fetched.price, price);
    assert.equal(fetched.amount, 0.001);
    assert.equal(fetched.filled, 0);

    await ex.cancelOrder(id, 'BTC/USDT');
    assert.equal(emu.exchange.get({ client_order_id: 'ccxt-order-1' })?.status, 'CANCELED');
    const after = await ex.fetchOrder(id, 'BTC/USDT');
    assert.equal(after.status, 'canceled');
  } finally {
    await emu.close();
  }
});

test('ccxt kucoin with a wrong secret: refused with KuCoin 400005, mapped by ccxt to AuthenticationError', async () => {
  const market = pinnedMarket();
  const emu = await startKucoinEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market });
  try {
    const ex = client(emu, 'a-wrong-secret');
    // Known HF account: loadMarkets stays on public endpoints, so the order is the first signed request.
    ex.options.hf = true;
    await ex.loadMarkets(false, { marginables: false });
    await assert.rejects(ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, Number(restingBuyPrice(market))), (e: Error) => {
      assert.ok(e instanceof ccxt.AuthenticationError, `${e.name}: ${e.message}`);
      assert.match(e.message, /400005/);
      return true;
    });
    assert.equal(emu.exchange.placements.size, 0);
  } finally {
    await emu.close();
  }
});

test('ccxt kucoin fetchBalance reads the emulated trade account from /api/v1/accounts: available, holds, balance', async () => {
  const market = pinnedMarket();
  const emu = await startKucoinEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market, balances: { USDT: '1000', BTC: '1' } });
  try {
    const ex = client(emu);
    await ex.loadMarkets(false, { marginables: false });
    const price = restingBuyPrice(market);
    await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, Number(price), { clientOid: 'ccxt-balance-1' });
    // KuCoin charges its fee in quote: a buy holds the fee too (0.1%).
    const holds = dec('0.001').times(dec(price)).times(dec('1.001'));
    const b = await ex.fetchBalance();
    assert.deepEqual([b.USDT?.free, b.USDT?.used, b.USDT?.total], [Number(fmt(dec('1000').minus(holds))), Number(fmt(holds)), 1000]);
    assert.deepEqual([b.BTC?.free, b.BTC?.used, b.BTC?.total], [1, 0, 1]);
    assert.ok(
      emu.requests.some((q) => q.method === 'GET' && q.path.startsWith('/api/v1/accounts?')),
      'ccxt asked GET /api/v1/accounts',
    );
  } finally {
    await emu.close();
  }
});
