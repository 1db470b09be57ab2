export * from './object-store.js';
export * from './storage-error.js';
