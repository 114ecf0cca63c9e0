// Flow-decoder errors, named and worded as libipt names them (pte_* and pt_errstr), so that our
// output and ptxed's compare line by line.

import { PT_ERROR_MESSAGES } from '../opcodes.js';

export const FLOW_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  ...PT_ERROR_MESSAGES,
  bad_query: 'trace stream does not match query',
  nomap: 'no memory mapped at this address',
  bad_insn: 'unknown instruction',
  retstack_empty: 'compressed return without call',
  bad_retcomp: 'bad compressed return',
  bad_status_update: 'bad status update',
  no_enable: 'expected tracing enabled event',
  event_ignored: 'event ignored',
  overflow: 'overflow',
  // Not libipt's (its decoder loops for ever there).
  loop: 'endless loop of direct branches without trace',
};

/** libipt's message for an error code (the code itself when libipt has none). */
export function flowErrorMessage(code: string): string {
  return FLOW_ERROR_MESSAGES[code] ?? code;
}
