export { containerRuntimeAvailable } from './minio-container.js';
export * from './s3-harness.js';
export * from './s3-server.js';
