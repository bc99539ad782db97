export * from './order.js';
export * from './parent.js';
