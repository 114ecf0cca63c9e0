// hwtrace's x86-64 / Intel PT library: the packet layer and trace unit (arch/x86/pt) and the
// instruction encoder used to lower programs (arch/x86/isa).
export * from './pt/index.js';
export * from './isa/index.js';
