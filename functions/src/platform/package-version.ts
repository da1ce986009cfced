import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './repo-root';

/** This package's version from package.json (0.0.0 when it cannot be read). */
export function packageVersion(): string {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
