// `fillstream audit ...` on its own, for tests (main.ts wires registerAuditCommands into the real CLI).
import { Command } from 'commander';
import { registerAuditCommands } from '../../src/cli/audit.js';

const program = new Command().name('fillstream').showHelpAfterError();
registerAuditCommands(program);
await program.parseAsync(process.argv);
