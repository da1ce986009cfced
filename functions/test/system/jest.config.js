/**
 * System tests run against a deployment and only on demand: `npm run test:system` with BASE_URL
 * set (see deployment-client.ts). The default `jest` run ignores this folder.
 */
const base = require('../../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  rootDir: '../../..',
  testMatch: ['<rootDir>/functions/test/system/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 120000,
  maxWorkers: 1,
};
