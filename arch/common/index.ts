export * from './address.js';
export * from './codeview.js';
export * from './context.js';
export * from './errors.js';
export * from './range.js';
export * from './stream.js';
export * from './events.js';
