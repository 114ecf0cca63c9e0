export * from './encode.js';
export * from './body.js';
