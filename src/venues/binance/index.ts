// Binance spot: the gateway adapter, its config, and the emulator that speaks its protocol.
export { createBinanceAdapter, BINANCE } from './adapter.js';
export { binanceConfig, credentialsFromEnv, redactBinanceConfig, type BinanceConfig, type CredentialNames, type Credentials } from './config.js';
export { startBinanceEmulator, type BinanceEmulator, type BinanceEmulatorOptions } from './emulator.js';
