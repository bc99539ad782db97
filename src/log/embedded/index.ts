// The embedded, file-backed implementation of the EventLog seam.
export { EmbeddedLog, JournalCorruptError, openEmbeddedLog } from './embedded-log.js';
export type { EmbeddedLogOptions, EmbeddedLogStats, FsyncMode, RecoveryInfo } from './embedded-log.js';
export { DataDirLockedError } from './lock.js';
