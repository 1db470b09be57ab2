export * from './app.js';
export * from './basic-auth.js';
export * from './bull-board.js';
export * from './create-dashboard.js';
export * from './metrics.js';
export * from './object-store.js';
export * from './task-admin.js';
