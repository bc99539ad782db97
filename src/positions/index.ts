export * from './positions.js';
