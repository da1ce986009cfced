/** Jest runs the TypeScript sources through SWC (fast, no type checking: `npm run typecheck` does that). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/functions/test/support/node-environment.js',
  transform: {
    // @contentauth/c2pa-wasm is an ES module: jest's CommonJS loader needs it transformed (Node itself require()s it).
    '/node_modules/@contentauth/c2pa-wasm/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  testMatch: ['<rootDir>/functions/test/**/*.test.ts', '<rootDir>/pipeline/test/**/*.test.ts', '<rootDir>/scripts/test/**/*.test.ts'],
  transformIgnorePatterns: ['/node_modules/(?!@contentauth/c2pa-wasm/)'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/functions/test/system/'],
  setupFiles: ['<rootDir>/functions/test/support/setup-env.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
