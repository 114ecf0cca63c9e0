// Public ARM entry (`hwtrace/arm`): the ETMv4/ETE packet layer, CoreSight frames, and OpenCSD
// snapshot directories.

export * from './etm4/index.js';
export * from './coresight/index.js';
export * from './opencsd/index.js';
export * from './isa-a64/index.js';
