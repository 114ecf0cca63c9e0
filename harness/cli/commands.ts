// Every `hwtrace` verb, in the order --help lists them.

import type { Argv } from 'yargs';
import { decodeCommand } from './decode.js';
import { doctorCommand } from './doctor.js';
import { dumpCommand } from './dump.js';
import { exportCommand } from './export.js';
import { genCommand } from './gen.js';
import { scoreCommand } from './score.js';

export type CommandModule = (cli: Argv) => Argv;

export const commands: readonly CommandModule[] = [genCommand, exportCommand, dumpCommand, decodeCommand, scoreCommand, doctorCommand];
