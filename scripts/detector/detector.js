#!/usr/bin/env node
// The `detector` command (package.json "bin"): runs the CLI that `npm run build` compiles with the
// rest of the project (`npm start` builds first, so the quick start's first command leaves it ready).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const compiled = path.join(root, 'dist', 'scripts', 'detector', 'detector-cli.js');
if (!fs.existsSync(compiled)) {
  process.stderr.write(
    `detector: ${path.relative(process.cwd(), compiled) || compiled} is not built yet; run \`npm run build\` in ${root} (npm start does it too), then run the command again\n`,
  );
  process.exit(2);
}
require(compiled)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
