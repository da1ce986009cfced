#!/usr/bin/env node
// The `detector` command (package.json "bin"): runs the compiled CLI, compiling the TypeScript
// first when dist/ does not have it yet (a fresh clone after `npm ci`).
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'scripts', 'detector-cli.js');
if (!fs.existsSync(compiled)) {
  const built = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(1);
}
require(compiled)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
