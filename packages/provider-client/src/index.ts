export * from './answers.schema.js';
export * from './backoff.js';
export * from './generate-request.schema.js';
export * from './provider-access.js';
export * from './provider-client.js';
export * from './provider-error.js';
export * from './provider-metrics.js';
export * from './rate-limiter.js';
