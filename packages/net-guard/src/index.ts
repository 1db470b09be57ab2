export * from './address-policy.js';
export * from './guarded-connector.js';
