export * from './free-port.js';
export * from './redis/redis-server.js';
export * from './wait-for.js';
