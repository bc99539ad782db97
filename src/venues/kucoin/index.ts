// KuCoin spot (HF orders): the adapter, its config and the emulator that speaks its protocol.
export { createKucoinAdapter, CLIENT_OID, KUCOIN } from './adapter.js';
export { credentialsFromEnv, kucoinConfig, redactKucoinConfig, type CredentialNames, type KucoinConfig, type KucoinCredentials } from './config.js';
export { startKucoinEmulator, type EmulatorRequest, type KucoinEmulator, type KucoinEmulatorOptions } from './emulator.js';
