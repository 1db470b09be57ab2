export * from './build-worker.js';
export * from './download/index.js';
export * from './metrics.js';
export * from './process-job.js';
export * from './storage/object-store.js';
export * from './storage/store-readiness.js';
export * from './task-store.js';
export * from './worker.js';
