/**
 * The models committed in models/ (what `npm start` serves): each production version loads in the
 * real onnxruntime session, answers /predict, keeps within the 5 MB model budget, and the
 * model table of docs/models.md states exactly the accuracy, ROC-AUC, ECE and JPEG numbers of its metrics.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../src/platform/repo-root';
import { parseProductionPointer } from '../../src/detector/model/model-metadata';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';
import { fixtureImage, startService } from '../support/test-service';

const MODELS = path.join(repoRoot(), 'models');
const MAX_MODEL_BYTES = 5_000_000;
const names = fs.readdirSync(MODELS).filter((name) => fs.existsSync(path.join(MODELS, name, 'production.json')));
const modelsDoc = fs.readFileSync(path.join(repoRoot(), 'docs', 'models.md'), 'utf8');

function production(name: string) {
  const pointer = parseProductionPointer('production.json', fs.readFileSync(path.join(MODELS, name, 'production.json')));
  const dir = path.join(MODELS, name, pointer.version);
  const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
  return { pointer, dir, metrics };
}

/** The cells of docs/models.md's model-table row for `name`. */
function tableRow(name: string): string[] {
  const line = modelsDoc.split('\n').find((row) => row.startsWith(`| \`${name}\``));
  if (line === undefined) throw new Error(`docs/models.md has no model-table row for ${name}`);
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

const percent = (value: number) => `${(100 * value).toFixed(2)} %`;

it('finds the bundled models', () => {
  expect(names).toEqual(expect.arrayContaining(['cifake', 'general', 'shoes']));
});

it("states general's leave-one-source-out headline exactly as its metrics.json has it", () => {
  const { metrics } = production('general');
  const { mean, folds } = metrics.leave_one_source_out;
  expect(folds).toHaveLength(20);
  const line = modelsDoc.split('\n').find((row) => row.startsWith('| all 20 sources |'));
  expect(line).toBeDefined();
  expect(line).toContain(`**${mean.roc_auc.toFixed(3)}**`);
  expect(line).toContain(`**${(100 * mean.wrong).toFixed(1)} %**`);
  expect(line).toContain(`${(100 * mean.coverage).toFixed(1)} %`);
});

describe.each(names)('bundled model %s', (name) => {
  let client: FunctionClient;

  beforeAll(async () => {
    startService({ MODEL_STORE: MODELS, DEFAULT_MODEL: name });
    client = await startFunction('predict');
  });

  afterAll(async () => {
    await client.close();
  });

  it('serves its production version', async () => {
    const { pointer } = production(name);
    const response = await client.request('/', {
      method: 'POST',
      body: multipart([{ field: 'image', filename: 'photo.jpg', bytes: fixtureImage('photo.jpg') }]),
    });
    expect(response.status).toBe(200);
    expect(response.body.model).toEqual({ name, version: pointer.version });
    expect(response.body.probability).toBeGreaterThanOrEqual(0);
    expect(response.body.probability).toBeLessThanOrEqual(1);
  });

  it('carries an uncertainty band computed on its whole validation split, reported in its model card', () => {
    const { dir, metrics } = production(name);
    const metadata = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    const images = metrics.serving.val.n;
    // A model deciding at an operating point: its band is [real threshold, AI threshold]; others: the 90 %-accuracy band.
    const point = metadata.operating_point;
    expect(metadata.uncertainty).toMatchObject(
      point === undefined
        ? { split: 'val', target_accuracy: 0.9, images }
        : { split: 'val', target_fpr: point.target_fpr, images, band: [point.real_threshold, point.ai_threshold], share_in_band: point.share_uncertain },
    );
    expect(metadata.uncertainty.band[0]).toBeLessThanOrEqual(metadata.threshold);
    expect(metadata.uncertainty.band[1]).toBeGreaterThanOrEqual(metadata.threshold);
    const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    const stated =
      point === undefined
        ? [
            `for P(AI) in **[${metadata.uncertainty.band.join(', ')}]**`,
            `${percent(metadata.uncertainty.share_in_band)} of the ${images} val images fall in the band`,
          ]
        : [
            `Serving answers \`ai_generated\` for P(AI) ≥ **${point.ai_threshold}**, \`real\` below **${point.real_threshold}** and \`uncertain\` between.`,
            `${percent(point.share_uncertain)} of val between the thresholds`,
          ];
    for (const text of stated) expect(card).toContain(text);
  });

  it(`keeps model.onnx within ${MAX_MODEL_BYTES} bytes`, () => {
    expect(fs.statSync(path.join(production(name).dir, 'model.onnx')).size).toBeLessThanOrEqual(MAX_MODEL_BYTES);
  });

  it('matches the model table of docs/models.md', () => {
    const { metrics } = production(name);
    const serving = metrics.serving[metrics.gate_split];
    const cells = tableRow(name);
    const { uncertainty, operating_point: point } = JSON.parse(fs.readFileSync(path.join(production(name).dir, 'metadata.json'), 'utf8'));
    // A model deciding at an operating point is stated by the accuracy of the answers it gives, with their share.
    expect(cells).toContain(
      point === undefined
        ? `**${percent(serving.accuracy)}**`
        : `**${percent(point.accuracy_decided)}** of the ${(100 * (1 - point.share_uncertain)).toFixed(1)} % it decides`,
    );
    expect(cells).toContain(serving.roc_auc.toFixed(4));
    expect(cells).toContain(serving.ece.toFixed(3));
    const { drop_points: drop, jpeg75_accuracy: jpegAccuracy } = metrics.robustness;
    expect(cells).toContain(`${percent(jpegAccuracy)} (${drop < 0 ? '+' : '−'}${Math.abs(drop).toFixed(2)} points)`);
    expect(cells).toContain(`[${uncertainty.band.join(', ')}] (${percent(uncertainty.share_in_band)}; ${percent(uncertainty.accuracy_outside)})`);
    const megabytes = fs.statSync(path.join(production(name).dir, 'model.onnx')).size / 1e6;
    expect(cells.at(-1)).toBe(`${megabytes.toFixed(1)} MB`);
  });
});
