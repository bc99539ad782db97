// The simulation gateway: pure matching plus a durable venue around it.
export { matchOrder, matching, simVenueOrderId, REJECT_CODES, INSUFFICIENT_LIQUIDITY, type RejectCode, type MatchOrder } from './match.js';
export { SimVenue, openSimVenue, SIM_JOURNAL_FILE, type SimVenueOptions, type TimedOrder } from './sim-venue.js';
export { encodeJournalLine, decodeJournalLine, readJournal, type JournalEntry, type JournalContents } from './journal.js';
