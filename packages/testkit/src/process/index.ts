export * from './process-set.js';
export * from './spawn-script.js';
export * from './spawn-service.js';
