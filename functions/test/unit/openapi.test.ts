import * as fs from 'node:fs';
import Ajv from 'ajv';
import { OPENAPI_PATH, renderOpenApi } from '../../../scripts/ops/generate-openapi';
import { batchItemSchema, predictJsonRequestSchema } from '../../src/serving/api/schemas';

describe('OpenAPI document', () => {
  it('is committed exactly as the schemas generate it (run `npm run openapi` after changing them)', () => {
    expect(fs.readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
  });

  it('describes every public path', () => {
    const document = JSON.parse(renderOpenApi());
    expect(Object.keys(document.paths).sort()).toEqual(['/batch', '/drift', '/explain', '/feedback', '/health', '/openapi.json', '/predict']);
  });
});

describe('request schemas', () => {
  const ajv = new Ajv({ strict: false });
  const predict = ajv.compile(predictJsonRequestSchema);
  const item = ajv.compile(batchItemSchema);

  it.each([
    [{ image: 'aGk=' }, true],
    [{ uri: 'gs://b/o.jpg' }, true],
    [{ image: 'aGk=', uri: 'gs://b/o.jpg' }, false],
    [{}, false],
    [{ uri: 'https://example.com/x.jpg' }, false],
    [{ image: '' }, false],
    [{ image: 'aGk=', extra: 1 }, false],
  ])('predict body %j valid: %p', (body, valid) => {
    expect(predict(body)).toBe(valid);
  });

  it.each([
    [{ id: 'a', image: 'aGk=' }, true],
    [{ uri: 'gs://b/o.jpg' }, true],
    [{ id: 'a' }, false],
    [{ id: '', image: 'aGk=' }, false],
  ])('batch item %j valid: %p', (body, valid) => {
    expect(item(body)).toBe(valid);
  });
});
