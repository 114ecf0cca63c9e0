// Every `hwtrace` verb, in the order --help lists them.

import type { Argv } from 'yargs';
import { doctorCommand } from './doctor.js';

export type CommandModule = (cli: Argv) => Argv;

export const commands: readonly CommandModule[] = [doctorCommand];
