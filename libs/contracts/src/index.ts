export * from './errors.js';
export * from './auth.js';
export * from './jobs.js';
export * from './health.js';
export * from './registry.js';
export * from './webhooks.js';
export * from './client.js';
export * from './signature.js';
