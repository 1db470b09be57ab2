export * from './hash-slot.js';
export * from './logger.js';
export * from './ops-routes.js';
export * from './redis.js';
export * from './redis-memory.js';
export * from './redis-safety.js';
export * from './replica-wait.js';
export * from './shutdown.js';
