export { containerRuntimeAvailable } from './minio-container.js';
export * from './s3-harness.js';
export * from './s3-server.js';
export { type S3rverOptions, startS3rver } from './s3rver-backend.js';
