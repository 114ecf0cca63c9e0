// Public harness entry (`hwtrace/harness`): corpus generation and export, the reference-decoder
// adapters.
export * from './gen/generate.js';
export * from './gen/units.js';
export * from './gen/layout.js';
export * from './gen/machine-info.js';
export * from './export/corpus-arch.js';
export * from './export/raw.js';
export * from './export/opencsd.js';
export * from './adapters/opencsd/lister-parse.js';
export * from './adapters/opencsd/lister-run.js';
export * from './adapters/probe.js';
