export * from './format.js';
export * from './reader.js';
export * from './varint.js';
export * from './writer.js';
