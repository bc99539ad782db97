// The embedded, file-backed implementation of the EventLog seam.
export { EmbeddedLog, JournalCorruptError, LOG_COMPRESSIONS, openEmbeddedLog } from './embedded-log.js';
export type { EmbeddedLogOptions, EmbeddedLogStats, FsyncMode, LogCompression, RecoveryInfo } from './embedded-log.js';
export { DataDirLockedError } from './lock.js';
