export * from './demux.js';
export * from './deformatter.js';
export * from './dstream.js';
export * from './formatter.js';
export * from './frame.js';
export * from './lane.js';
