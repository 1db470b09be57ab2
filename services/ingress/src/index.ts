export * from './app.js';
export * from './auth/provider-signature.js';
export * from './auth/standard-webhooks.js';
export * from './create-ingress.js';
export * from './loggable-task-id.js';
export * from './metrics.js';
export * from './quarantine.js';
export * from './queue.js';
