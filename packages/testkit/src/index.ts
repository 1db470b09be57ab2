export * from './free-port.js';
export * from './process/index.js';
export * from './redis/cluster-nodes.js';
export * from './redis/redis-cluster.js';
export * from './redis/redis-server.js';
export * from './s3/index.js';
export * from './wait-for.js';
