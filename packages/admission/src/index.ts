export * from './admit-callback.js';
export * from './claim-task.js';
export * from './conflict-event.js';
export * from './enqueue.js';
export * from './extra-fields.js';
export * from './task-registry.js';
