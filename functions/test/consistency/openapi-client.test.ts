/**
 * The committed OpenAPI document is client-ready: Redocly's linter (its recommended rules) finds
 * nothing in it, and openapi-typescript generates types from it that a small typed client compiles
 * against, so an integrator's generator gets the operations, bodies and errors the service has.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConfig, lint } from '@redocly/openapi-core';
import ts from 'typescript';
import { repoRoot } from '../../src/platform/repo-root';

const ROOT = repoRoot();
const DOCUMENT = path.join(ROOT, 'functions', 'openapi.json');

it('passes the recommended rules of the Redocly linter', async () => {
  // Off, with reason: the first server is this product's own local server (npm start).
  const config = await createConfig({ extends: ['recommended'], rules: { 'no-server-example.com': 'off' } });
  const problems = await lint({ ref: DOCUMENT, config });
  expect(problems.map((problem) => `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? ''}`)).toEqual([]);
});

it('gives every operation an id, security and the error schema on every error status', () => {
  const document = JSON.parse(fs.readFileSync(DOCUMENT, 'utf8')) as {
    paths: Record<
      string,
      Record<string, { operationId?: string; security?: unknown[]; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>
    >;
  };
  const operations = Object.entries(document.paths).flatMap(([route, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ route, method, operation })),
  );
  expect(operations.map(({ operation }) => operation.operationId).sort()).toEqual([
    'batch',
    'computeDriftReports',
    'explain',
    'feedback',
    'getDriftReports',
    'getOpenApiDocument',
    'health',
    'predict',
  ]);
  for (const { route, method, operation } of operations) {
    expect({ route, method, security: Array.isArray(operation.security) }).toEqual({ route, method, security: true });
    for (const [status, response] of Object.entries(operation.responses)) {
      if (Number(status) >= 400 && !(route === '/health' && status === '503')) {
        expect({ route, method, status, schema: response.content?.['application/json']?.schema?.$ref }).toEqual({
          route,
          method,
          status,
          schema: '#/components/schemas/ErrorResponse',
        });
      }
    }
  }
});

it('generates TypeScript types that a typed client compiles against', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-client-'));
  const types = path.join(work, 'api.d.ts');
  const cli = path.join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
  const generated = spawnSync(process.execPath, [cli, DOCUMENT, '--output', types], { encoding: 'utf8' });
  expect({ status: generated.status, stderr: generated.status === 0 ? '' : generated.stderr }).toEqual({ status: 0, stderr: '' });

  const client = path.join(work, 'client.ts');
  fs.writeFileSync(
    client,
    `import type { components, paths } from './api';
type Verdict = paths['/predict']['post']['responses']['200']['content']['application/json'];
type ApiError = components['schemas']['ErrorResponse'];
type BatchBody = NonNullable<paths['/batch']['post']['requestBody']>['content']['application/json'];

export async function predictBase64(baseUrl: string, apiKey: string, image: string): Promise<Verdict> {
  const response = await fetch(baseUrl + '/predict', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey }, body: JSON.stringify({ image }) });
  if (!response.ok) {
    const failure = (await response.json()) as ApiError;
    throw new Error(failure.error.code + ': ' + failure.error.message);
  }
  return (await response.json()) as Verdict;
}

export const body: BatchBody = { images: [{ id: 'sku-1', image: 'aGk=' }, { uri: 'gs://bucket/object.jpg' }] };
export const isAi = (verdict: Verdict): boolean => verdict.prediction === 'ai_generated' && verdict.probability >= verdict.threshold;
export const version = (verdict: Verdict): string => verdict.model.name + '@' + verdict.model.version;
`,
  );
  const program = ts.createProgram([client], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    skipLibCheck: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
  // And it fails for a client that gets the document wrong, so the check above can fail.
  fs.writeFileSync(
    client,
    `import type { paths } from './api';\nexport const wrong: paths['/predict']['post']['responses']['200']['content']['application/json']['probability'] = 'high';\n`,
  );
  const broken = ts.createProgram([client], { strict: true, noEmit: true, skipLibCheck: true });
  expect(ts.getPreEmitDiagnostics(broken).length).toBeGreaterThan(0);
});
