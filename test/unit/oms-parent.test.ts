// An intent over its child orders (src/oms/parent.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parentOf, type ChildOrder } from '../../src/oms/parent.js';

const child = (status: ChildOrder['status'], qty: string, filled: string, avg: string): ChildOrder => ({ status, qty, filled_qty: filled, avg_price: avg });

test('fills are summed and the average is over every fill of every child', () => {
  const p = parentOf([child('FILLED', '0.1', '0.1', '100000'), child('PARTIALLY_FILLED', '0.3', '0.1', '100100')]);
  assert.deepEqual(p, { status: 'WORKING', children: 2, open: 1, qty: '0.4', filled_qty: '0.2', avg_price: '100050' });
});

test('one status for the whole once every child ended', () => {
  assert.equal(parentOf([child('FILLED', '1', '1', '1'), child('FILLED', '2', '2', '1')]).status, 'FILLED');
  assert.equal(parentOf([child('FILLED', '1', '1', '1'), child('CANCELED', '2', '0', '0')]).status, 'PARTIALLY_FILLED');
  assert.equal(parentOf([child('EXPIRED', '1', '0', '0'), child('CANCELED', '2', '0', '0')]).status, 'EXPIRED');
  assert.equal(parentOf([child('CANCELED', '1', '0', '0'), child('REJECTED', '2', '0', '0')]).status, 'REJECTED');
  assert.equal(parentOf([child('ACKED', '1', '0', '0')]).status, 'WORKING');
  assert.equal(parentOf([child('CANCELED', '1', '0', '0')]).avg_price, '0');
});
