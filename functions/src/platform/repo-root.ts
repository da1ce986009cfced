import * as path from 'node:path';

/** The repository root, found from this file whether it runs from `functions/src/platform` or `dist/functions/src/platform`. */
export function repoRoot(): string {
  const up = path.resolve(__dirname, '..', '..', '..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}
