/**
 * Computes the uncertainty band (pipeline/src/uncertainty-band.ts) of each bundled production model
 * in models/ on its own validation split, as the pipeline's evaluate step does for a new version,
 * and writes it into that version's metadata.json and model card.
 *
 * The validation split is rebuilt as the run's report.json records it: the dataset's val/ folder
 * (the shoes archive names it valid/, which scripts/ops/prepare-data.sh renames) when it was not carved,
 * else the images of train/ that the trainer's hash rule carves at the run's --val-fraction. Images
 * are scored by the pipeline's evaluateItems (the serving core); the count and accuracy are checked
 * against the version's metrics.json before anything is written.
 *
 *   npm run build && node dist/scripts/bench/bundled-uncertainty-bands.js [--data data] [--models models] [name ...]
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createDecoder, parseMetadata, parseProductionPointer } from '../../functions/src/detector';
import { createLogger, repoRoot } from '../../functions/src/platform';
import { loadConfig } from '../../functions/src/serving';
import { CLASS_LABELS, CLASS_NAMES } from '../../pipeline/src/dataset';
import { evaluateItems, loadModelForEvaluation } from '../../pipeline/src/evaluate';
import { uncertaintyLines } from '../../pipeline/src/model-card';
import type { SplitItem } from '../../pipeline/src/run-dir';
import { IMAGE_EXTENSIONS } from '../../pipeline/src/shared-constants';
import { computeUncertaintyBand } from '../../pipeline/src/uncertainty-band';
import { isCarvedIntoValidation } from '../../pipeline/src/validate-dataset';

interface Args {
  data: string;
  models: string;
  names: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const root = repoRoot();
  const args: Args = { data: path.join(root, 'data'), models: path.join(root, 'models'), names: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--data' || arg === '--models') {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a folder`);
      args[arg === '--data' ? 'data' : 'models'] = path.resolve(value);
    } else if (arg.startsWith('--')) {
      throw new Error(`unknown option ${arg}; use --data <folder>, --models <folder> and model names`);
    } else {
      args.names.push(arg);
    }
  }
  return args;
}

/** The files of <root>/<split>/{REAL,FAKE}, as split.json lists them (path relative to root, label, sha256). */
function listSplit(root: string, split: string): SplitItem[] {
  const items: SplitItem[] = [];
  for (const className of CLASS_NAMES) {
    const dir = path.join(root, split, className);
    for (const name of readdirSync(dir).sort()) {
      if (!IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase())) continue;
      const relative = `${split}/${className}/${name}`;
      const sha256 = createHash('sha256')
        .update(readFileSync(path.join(root, relative)))
        .digest('hex');
      items.push({ path: relative, label: CLASS_LABELS[className], sha256 });
    }
  }
  return items;
}

interface Report {
  dataset: { splits?: { val?: { carved?: boolean; REAL?: number; FAKE?: number } } };
  commands: string[];
}

function validationItems(datasetRoot: string, report: Report): SplitItem[] {
  if (report.dataset.splits?.val?.carved === true) {
    const fractions = report.commands.flatMap((command) => [...command.matchAll(/--val-fraction (\S+)/g)].map((match) => Number(match[1])));
    const fraction = fractions.at(-1) ?? 0.1;
    return listSplit(datasetRoot, 'train').filter((item) => isCarvedIntoValidation(item.sha256, fraction));
  }
  const folder = existsSync(path.join(datasetRoot, 'val')) ? 'val' : 'valid';
  return listSplit(datasetRoot, folder);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warning' });
  const decoder = createDecoder(config);
  const logger = createLogger({ level: 'warning' });
  const names = args.names.length > 0 ? args.names : readdirSync(args.models).filter((name) => existsSync(path.join(args.models, name, 'production.json')));
  for (const name of names) {
    const pointer = parseProductionPointer('production.json', readFileSync(path.join(args.models, name, 'production.json')));
    const dir = path.join(args.models, name, pointer.version);
    const metadataText = readFileSync(path.join(dir, 'metadata.json'), 'utf8');
    const metadata = parseMetadata(`${name}/${pointer.version}/metadata.json`, metadataText);
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report;
    const metrics = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as { serving: { val: { n: number; accuracy: number } } };
    const dataset = (metadata.training?.dataset as { name?: string } | undefined)?.name ?? name;
    const items = validationItems(path.join(args.data, dataset), report);
    if (items.length !== metrics.serving.val.n) {
      throw new Error(
        `${name}: rebuilt ${items.length} validation images, but metrics.json was measured on ${metrics.serving.val.n}; is ${args.data}/${dataset} the dataset it was trained on?`,
      );
    }
    const model = await loadModelForEvaluation(name, pointer.version, readFileSync(path.join(dir, 'model.onnx')), metadata, {
      intraOpNumThreads: config.ortIntraOpThreads,
      logger,
    });
    const scored = await evaluateItems(model, path.join(args.data, dataset), items, { decoder, limits: config, batchSize: 256 });
    model.retire();
    const ok = scored.filter((item) => item.probability !== null);
    const labels = ok.map((item) => item.label);
    const probabilities = ok.map((item) => item.probability as number);
    const accuracy = ok.filter((item) => ((item.probability as number) >= metadata.threshold ? 1 : 0) === item.label).length / ok.length;
    if (ok.length !== items.length || Math.abs(accuracy - metrics.serving.val.accuracy) > 1e-9) {
      throw new Error(`${name}: scored ${ok.length} of ${items.length} at accuracy ${accuracy}; metrics.json says ${metrics.serving.val.accuracy}`);
    }
    const uncertainty = computeUncertaintyBand(labels, probabilities, metadata.threshold);
    // The file as it was (key order and all), with the band added.
    const updatedText = `${JSON.stringify({ ...(JSON.parse(metadataText) as Record<string, unknown>), uncertainty }, null, 2)}\n`;
    const updated = parseMetadata(`${name}/${pointer.version}/metadata.json`, updatedText);
    writeFileSync(path.join(dir, 'metadata.json'), updatedText);
    writeFileSync(path.join(dir, 'README.md'), withUncertainty(readFileSync(path.join(dir, 'README.md'), 'utf8'), uncertaintyLines(updated)));
    console.log(
      `${name} ${pointer.version}: band [${uncertainty.band.join(', ')}] on ${items.length} val images; ${(100 * uncertainty.share_in_band).toFixed(2)} % inside; accuracy outside ${uncertainty.accuracy_outside}`,
    );
  }
}

/** The model card with its "Uncertainty band" section replaced, or inserted before "## Data". */
function withUncertainty(card: string, lines: string[]): string {
  const section = lines.join('\n');
  const existing = /## Uncertainty band\n[\s\S]*?(?=\n## )/;
  if (existing.test(card)) return card.replace(existing, section.trimEnd() + '\n');
  return card.replace('\n## Data\n', `\n${section}\n## Data\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
