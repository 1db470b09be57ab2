export * from './logger.js';
export * from './ops-routes.js';
export * from './redis.js';
export * from './shutdown.js';
