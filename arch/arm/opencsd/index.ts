export * from './ini.js';
export * from './snapshot.js';
export * from './snapshot-decode.js';
export * from './snapshot-reader.js';
export * from './snapshot-writer.js';
