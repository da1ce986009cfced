/**
 * Jest runs the TypeScript sources through SWC (fast, no type checking: `npm run typecheck` does that).
 *
 * teeny-request 10 (the HTTP layer of @google-cloud/common, under @google-cloud/bigquery) loads the
 * ES module node-fetch 3 with a dynamic import(), which Jest's CommonJS sandbox cannot run. SWC
 * turns that import() into require() and node-fetch and its ES module dependencies into CommonJS,
 * in tests only: the same library code runs, in the module format Jest can load.
 */
const ESM_IN_TESTS = ['teeny-request', 'node-fetch', 'fetch-blob', 'formdata-polyfill', 'data-uri-to-buffer'];
const esmPattern = `/node_modules/(${ESM_IN_TESTS.join('|')})/`;
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/functions/test/support/node-environment.js',
  transform: {
    // @contentauth/c2pa-wasm is an ES module: jest's CommonJS loader needs it transformed (Node itself require()s it).
    '/node_modules/@contentauth/c2pa-wasm/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    [`${esmPattern}.+\\.js$`]: ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  testMatch: ['<rootDir>/functions/test/**/*.test.ts', '<rootDir>/pipeline/test/**/*.test.ts', '<rootDir>/scripts/test/**/*.test.ts'],
  // Everything under node_modules is left as it is, except the ES modules above and c2pa-wasm.
  transformIgnorePatterns: [`^(?!.*(${esmPattern}|/node_modules/@contentauth/c2pa-wasm/)).*/node_modules/`],
  // SPAWNED_SERVER_TESTS=apart: scripts/test-all.sh runs the tests that spawn and signal server
  // processes in a Jest run of their own, after this one (their grace periods are wall-clock).
  testPathIgnorePatterns: [
    '/node_modules/',
    '/dist/',
    '/functions/test/system/',
    ...(process.env.SPAWNED_SERVER_TESTS === 'apart' ? ['/functions/test/integration/shutdown-process\\.test\\.ts$'] : []),
  ],
  setupFiles: ['<rootDir>/functions/test/support/setup-env.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
