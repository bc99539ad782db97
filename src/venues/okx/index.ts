// The OKX v5 spot venue: adapter (for the gateway), config helpers, and the emulator (for tests and rehearsals).
export { createOkxAdapter, orderBody, OkxRefused, CLIENT_ORDER_ID, OKX } from './adapter.js';
export { credentialsFromEnv, okxConfig, redactedConfig, type OkxConfig } from './config.js';
export { startOkxEmulator, type OkxEmulator, type OkxEmulatorOptions } from './emulator.js';
