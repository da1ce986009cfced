/**
 * Writes functions/openapi.json from the request/response schemas (`npm run openapi`).
 * A test fails when the committed document and the schemas disagree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildOpenApiDocument } from '../../functions/src/serving';
import { packageVersion, repoRoot } from '../../functions/src/platform';

export const OPENAPI_PATH = path.join(repoRoot(), 'functions', 'openapi.json');

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApiDocument(packageVersion()), null, 2)}\n`;
}

if (require.main === module) {
  fs.writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${path.relative(process.cwd(), OPENAPI_PATH)}`);
}
