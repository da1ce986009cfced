/**
 * `npm run pipeline -- --dataset <dir|gs://…> --name <model> [options]`: parses the command line,
 * reads the serving configuration from the environment once, runs the pipeline and turns its
 * outcome into an exit status. Logs and progress go to stderr; the result, as one JSON object, to
 * stdout.
 */
import { ARCHITECTURES } from './shared-constants';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelineSettings, type PipelineSettings } from './pipeline-settings';
import { ConfigError, MODEL_NAME_PATTERN, repoRoot } from '../../functions/src/platform';
import { createConsoleLogger, type LogFormat } from './console-logger';
import { EXIT_CODES, isPipelineError, UsageError } from './errors';
import { DEFAULT_GATE, GATE_METRICS, type GateMetric } from './gate';
import { DEFAULT_SKEW_TOLERANCES } from './parity';
import { type PipelineOptions, runPipeline } from './pipeline';
import { quoteArgument } from './trainer/trainer-process';
import { parseValidationFlags, VALIDATION_FLAGS, VALIDATION_HELP } from './validation-flags';
import type { VertexSettings } from './vertex/custom-job-request';

export const HELP = `Usage: npm run pipeline -- --dataset <dir|gs://…> --name <model> [options]

Validates a dataset, trains a detector with the Python trainer, evaluates the exported ONNX model
through the serving code, builds its drift reference, gates it against thresholds and the current
production version, and publishes it to the model store (or keeps it as a candidate).

Required:
  --dataset <dir|gs://…>     dataset folder or Cloud Storage prefix holding dataset.json, train/,
                             and optionally val/ and test/ (each with REAL/ and FAKE/)
                             (with --from-run: defaults to the dataset recorded in training.json)
  --name <model>             model name in the store (lower-case letters, digits, '-', '_')

Where things go:
  --store <dir|gs://…>       model store (default: $MODEL_STORE, else <repo>/models)
  --work-dir <dir>           trainer output, train.log and reports
                             (default: <repo>/runs/pipeline/<name>-<UTC timestamp>)
  --cache-dir <dir>          where gs:// datasets are mirrored (default: <repo>/.local/datasets)

Training (passed to python3 -m training.train):
  --recipe <name|path>       training recipe: training/recipes/<name>.json or a file
                             (models/recipe.schema.json; default: dataset.json's "recipe", if
                             any); the flags below, given on the command line, override it
  --pretrain-dataset <dir|gs://…>
                             dataset of the recipe's pre-training stage (default: the one it
                             names, beside --dataset)
  --epochs <n>               epochs (trainer default: 10)
  --arch <name>              ${ARCHITECTURES.join(' | ')}
                             (default: compact)
  --image-size <px>          input side (trainer default: 32 for compact, 224 otherwise)
  --batch-size <n>           (trainer default: 128)
  --lr <float>               (trainer default: 2e-3)
  --max-steps <n>            stop after n optimiser steps (smoke runs)
  --seed <n>                 (trainer default: 42)
  --threads <n>              torch CPU threads (default: 2)
  --init-from <checkpoint>   start from a checkpoint.pt's matching weights
  --trainer-arg <arg>        extra trainer argument, repeatable (--trainer-arg=--width --trainer-arg=24)
  --python <path>            Python with torch (default: /usr/bin/python3 if present, else python3)
  --from-run <run dir>       skip training: evaluate, gate and publish a completed run folder
                             (model.onnx, metadata.json, split.json, torch_eval.json, parity/,
                             training.json) of training.train or training.ensemble; the model
                             card lists the commands from its training.json (and from those of
                             its --init-from run or ensemble members)

Feedback (POST /feedback):
  --with-feedback <dir|gs://…>
                             the functions' FEEDBACK_STORE: its images for --name join train/ only
                             (never val/ or test/; those with the bytes of an evaluation image are
                             left out), are validated with the dataset and counted in the report
                             and the model card; the gate still decides

Where training runs:
  --runner <local|vertex>    local: python3 on this machine (default); vertex: each training stage
                             is a Vertex AI custom job on a GPU worker pool, reading a gs:// dataset
                             and writing to --vertex-staging; evaluation, gate and publication stay here
  --vertex-region <region>   (default: europe-west1)
  --vertex-staging <gs://…>  prefix for the jobs' run folders (required with --runner vertex)
  --vertex-image <uri>       the CUDA training image (training/Dockerfile.cuda; required with vertex)
  --vertex-service-account <email>
                             service account the jobs run as (default: Vertex AI's)
  --vertex-timeout <s>       longest a job may run (default: 86400)
  --machine-type <type>      worker machine (default: the recipe's compute, else g2-standard-8)
  --accelerator-type <type>  e.g. NVIDIA_L4, NVIDIA_TESLA_T4 (default: the recipe's, else NVIDIA_L4)
  --accelerator-count <n>    (default: the recipe's, else 1)
  Vertex AI is reached at VERTEX_API_ENDPOINT when set, for the project GOOGLE_CLOUD_PROJECT.

Dataset validation (the run stops with a report when one is crossed):
${VALIDATION_HELP}

Train/serve skew (PyTorch vs the serving code on the same model and images):
  --skew-max-logit-diff <x>  parity bundle: max |Δlogit| (default: ${DEFAULT_SKEW_TOLERANCES.maxLogitDiff})
  --skew-max-mean-dp <x>     mean |ΔP(AI)| per split (default: ${DEFAULT_SKEW_TOLERANCES.maxMeanProbabilityDiff})
  --skew-max-accuracy-delta <x>
                             |Δaccuracy| per split, at least one image (default: ${DEFAULT_SKEW_TOLERANCES.maxAccuracyDelta})
  --skew-max-auc-delta <x>   |ΔROC-AUC| per split (default: ${DEFAULT_SKEW_TOLERANCES.maxRocAucDelta})

Gate (on test/ when present, else val):
  --min-accuracy <f>         (default: ${DEFAULT_GATE.minAccuracy}; at an operating point, of the images decided)
  --min-roc-auc <f>          (default: ${DEFAULT_GATE.minRocAuc})
  --min-precision <f>        (default: ${DEFAULT_GATE.minPrecision}, off)
  --min-recall <f>           (default: ${DEFAULT_GATE.minRecall}, off)
  --max-ece <f>              expected calibration error, 10 bins (default: ${DEFAULT_GATE.maxEce})
  --max-jpeg-drop <points>   accuracy drop after JPEG re-encoding (default: ${DEFAULT_GATE.maxJpegDropPoints})
  --jpeg-quality <q>         JPEG quality of that measurement (default: 75)
  --no-robustness            do not measure JPEG robustness
  --champion-metrics <list>  compared with production, comma-separated from ${GATE_METRICS.join(', ')}
                             (default: ${DEFAULT_GATE.championMetrics.join(',')})
  --champion-tolerance <f>   how much worse than production is allowed (default: ${DEFAULT_GATE.championTolerance})
  --no-champion              publish without comparing with the production version

Other:
  --dry-run                  validate the dataset and print the plan; train and publish nothing
  --eval-batch-size <n>      images per onnxruntime call (default: 64)
  --progress-interval <s>    seconds between progress lines when stderr is not a terminal (default: 30)
  --log-format <text|json>   (default: text)
  -h, --help                 this text

The serving settings apply as in the functions: IMAGE_DECODER, MAX_IMAGE_BYTES, MAX_PIXELS,
MIN_IMAGE_SIDE, ORT_INTRA_OP_THREADS, STORAGE_API_ENDPOINT, GOOGLE_CLOUD_PROJECT, MODEL_STORE,
VERTEX_API_ENDPOINT.

Exit status: 0 published (or dry run passed), 2 usage, 3 dataset invalid, 4 training failed,
5 train/serve skew, 6 rejected by the gate (kept under <store>/<name>/candidates/<version>/),
7 production.json changed concurrently (publish conflict), 1 anything else.
`;

const OPTIONS = {
  ...VALIDATION_FLAGS,
  dataset: { type: 'string' },
  name: { type: 'string' },
  store: { type: 'string' },
  'work-dir': { type: 'string' },
  'cache-dir': { type: 'string' },
  epochs: { type: 'string' },
  arch: { type: 'string' },
  'image-size': { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'max-steps': { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'init-from': { type: 'string' },
  'trainer-arg': { type: 'string', multiple: true },
  recipe: { type: 'string' },
  'pretrain-dataset': { type: 'string' },
  runner: { type: 'string' },
  'with-feedback': { type: 'string' },
  'vertex-region': { type: 'string' },
  'vertex-staging': { type: 'string' },
  'vertex-image': { type: 'string' },
  'vertex-service-account': { type: 'string' },
  'vertex-timeout': { type: 'string' },
  'machine-type': { type: 'string' },
  'accelerator-type': { type: 'string' },
  'accelerator-count': { type: 'string' },
  python: { type: 'string' },
  'from-run': { type: 'string' },
  'skew-max-logit-diff': { type: 'string' },
  'skew-max-mean-dp': { type: 'string' },
  'skew-max-accuracy-delta': { type: 'string' },
  'skew-max-auc-delta': { type: 'string' },
  'min-accuracy': { type: 'string' },
  'min-roc-auc': { type: 'string' },
  'min-precision': { type: 'string' },
  'min-recall': { type: 'string' },
  'max-ece': { type: 'string' },
  'max-jpeg-drop': { type: 'string' },
  'jpeg-quality': { type: 'string' },
  'no-robustness': { type: 'boolean' },
  'champion-metrics': { type: 'string' },
  'champion-tolerance': { type: 'string' },
  'no-champion': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'eval-batch-size': { type: 'string' },
  'progress-interval': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export { ARCHITECTURES } from './shared-constants';

export interface CliContext {
  config: Readonly<PipelineSettings>;
  repoRoot: string;
  now: Date;
  /** Whether /usr/bin/python3 exists (the default interpreter). */
  systemPython: boolean;
}

export type ParsedCommand = { help: true } | { help: false; options: PipelineOptions; logFormat: LogFormat };

/** Turns argv (without node and the script) into pipeline options; throws UsageError naming the bad flag. */
export function parseCommandLine(argv: readonly string[], context: CliContext): ParsedCommand {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; see --help`);
  }
  if (values.help === true) return { help: true };
  const problems: string[] = [];
  const number = (flag: keyof typeof OPTIONS, check: (value: number) => boolean, rule: string): number | null => {
    const raw = values[flag];
    if (raw === undefined) return null;
    const value = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
      problems.push(`--${flag} must be ${rule}; got ${JSON.stringify(raw)}`);
      return null;
    }
    return value;
  };
  const integer = (flag: keyof typeof OPTIONS, min: number): number | null => number(flag, (v) => Number.isInteger(v) && v >= min, `an integer ≥ ${min}`);
  const fraction = (flag: keyof typeof OPTIONS): number | null => number(flag, (v) => v >= 0 && v <= 1, 'a number from 0 to 1');

  const name = values.name;
  if (name === undefined) problems.push('--name is required (the model name in the store, e.g. --name shoes)');
  else if (!MODEL_NAME_PATTERN.test(name))
    problems.push(`--name ${JSON.stringify(name)} is not a model name: use lower-case letters, digits, '-' and '_' (at most 63)`);
  const fromRun = values['from-run'] ?? null;
  if (values.dataset === undefined && fromRun === null) problems.push('--dataset is required (a folder or gs://bucket/datasets/<name>/<version>)');
  const arch = values.arch ?? 'compact';
  if (!ARCHITECTURES.includes(arch)) problems.push(`--arch must be one of ${ARCHITECTURES.join(', ')}; got ${JSON.stringify(arch)}`);
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') problems.push(`--log-format must be text or json; got ${JSON.stringify(logFormat)}`);
  const championMetrics = (values['champion-metrics'] ?? DEFAULT_GATE.championMetrics.join(','))
    .split(',')
    .map((metric) => metric.trim())
    .filter((metric) => metric.length > 0);
  const unknownMetrics = championMetrics.filter((metric) => !(GATE_METRICS as readonly string[]).includes(metric));
  if (unknownMetrics.length > 0) problems.push(`--champion-metrics has unknown metric(s) ${unknownMetrics.join(', ')}; use ${GATE_METRICS.join(', ')}`);

  const validation = parseValidationFlags(values, problems);
  const trainer = {
    arch,
    imageSize: integer('image-size', 1),
    epochs: integer('epochs', 1),
    batchSize: integer('batch-size', 1),
    lr: number('lr', (v) => v > 0, 'a positive number'),
    maxSteps: integer('max-steps', 1),
    valFraction: validation.valFraction,
    seed: integer('seed', 0),
    threads: integer('threads', 1) ?? 2,
    initFrom: values['init-from'] === undefined ? null : path.resolve(values['init-from']),
    extraArgs: [...(values['trainer-arg'] ?? [])],
  };
  const positive = (flag: keyof typeof OPTIONS): number | null => number(flag, (v) => v >= 0, 'a non-negative number');
  const skew = {
    maxLogitDiff: positive('skew-max-logit-diff') ?? DEFAULT_SKEW_TOLERANCES.maxLogitDiff,
    maxMeanProbabilityDiff: fraction('skew-max-mean-dp') ?? DEFAULT_SKEW_TOLERANCES.maxMeanProbabilityDiff,
    maxAccuracyDelta: fraction('skew-max-accuracy-delta') ?? DEFAULT_SKEW_TOLERANCES.maxAccuracyDelta,
    maxRocAucDelta: fraction('skew-max-auc-delta') ?? DEFAULT_SKEW_TOLERANCES.maxRocAucDelta,
  };
  const gate = {
    minAccuracy: fraction('min-accuracy') ?? DEFAULT_GATE.minAccuracy,
    minRocAuc: fraction('min-roc-auc') ?? DEFAULT_GATE.minRocAuc,
    minPrecision: fraction('min-precision') ?? DEFAULT_GATE.minPrecision,
    minRecall: fraction('min-recall') ?? DEFAULT_GATE.minRecall,
    maxEce: fraction('max-ece') ?? DEFAULT_GATE.maxEce,
    maxJpegDropPoints: number('max-jpeg-drop', (v) => v >= 0 && v <= 100, 'a number of points from 0 to 100') ?? DEFAULT_GATE.maxJpegDropPoints,
    championMetrics: championMetrics as GateMetric[],
    championTolerance: fraction('champion-tolerance') ?? DEFAULT_GATE.championTolerance,
  };
  const jpegQuality = integer('jpeg-quality', 1);
  if (jpegQuality !== null && jpegQuality > 100) problems.push(`--jpeg-quality must be from 1 to 100; got ${jpegQuality}`);
  const evalBatchSize = integer('eval-batch-size', 1) ?? 64;
  const progressInterval = number('progress-interval', (v) => v > 0, 'a positive number of seconds') ?? 30;
  if (values['with-feedback'] !== undefined && fromRun !== null)
    problems.push('--with-feedback adds images to the training data; a --from-run run is trained already');
  const runner = values.runner ?? 'local';
  if (runner !== 'local' && runner !== 'vertex') problems.push(`--runner must be local or vertex; got ${JSON.stringify(runner)}`);
  const vertex = runner === 'vertex' ? parseVertexFlags(values, context.config, problems, integer) : null;
  if (problems.length > 0) throw new UsageError(problems.join('\n'));

  const stamp = context.now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  const modelName = name as string;
  const options: PipelineOptions = {
    dataset: values.dataset === undefined ? null : resolveLocation(values.dataset),
    name: modelName,
    store: resolveLocation(values.store ?? context.config.modelStore),
    fromRun: fromRun === null ? null : path.resolve(fromRun),
    dryRun: values['dry-run'] === true,
    workDir: path.resolve(values['work-dir'] ?? path.join(context.repoRoot, 'runs', 'pipeline', `${modelName}-${stamp}`)),
    cacheDir: path.resolve(values['cache-dir'] ?? path.join(context.repoRoot, '.local', 'datasets')),
    python: values.python ?? (context.systemPython ? '/usr/bin/python3' : 'python3'),
    trainer,
    validation,
    skew,
    gate,
    champion: values['no-champion'] !== true,
    robustnessQuality: values['no-robustness'] === true ? null : (jpegQuality ?? 75),
    evalBatchSize,
    progressIntervalMs: progressInterval * 1000,
    invocation: ['npm', 'run', 'pipeline', '--', ...argv].map(quoteArgument).join(' '),
    recipe: values.recipe ?? null,
    givenFlags: Object.keys(values),
    appliedRecipe: null,
    pretrainDataset: values['pretrain-dataset'] === undefined ? null : resolveLocation(values['pretrain-dataset']),
    runner: runner as 'local' | 'vertex',
    vertex,
    feedback: values['with-feedback'] === undefined ? null : resolveLocation(values['with-feedback']),
  };
  return { help: false, options, logFormat: logFormat as LogFormat };
}

type ParsedValues = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

/** The --vertex-* and compute flags of --runner vertex; each problem is added to `problems`. */
function parseVertexFlags(
  values: ParsedValues,
  config: Readonly<PipelineSettings>,
  problems: string[],
  integer: (flag: keyof typeof OPTIONS, min: number) => number | null,
): VertexSettings {
  const staging = values['vertex-staging'];
  if (staging === undefined || !/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/.test(staging)) {
    problems.push(`--runner vertex needs --vertex-staging gs://bucket/prefix (where the jobs write their run folders); got ${JSON.stringify(staging ?? null)}`);
  }
  const image = values['vertex-image'];
  if (image === undefined || image.trim() === '')
    problems.push('--runner vertex needs --vertex-image <the CUDA training image>, e.g. europe-west1-docker.pkg.dev/<project>/<repo>/training-cuda:latest');
  if (config.projectId === null) problems.push('--runner vertex needs GOOGLE_CLOUD_PROJECT, the project the jobs run in');
  const count = integer('accelerator-count', 1);
  const machineType = values['machine-type'];
  const acceleratorType = values['accelerator-type'];
  if (acceleratorType !== undefined && !/^[A-Z0-9_]+$/.test(acceleratorType))
    problems.push(`--accelerator-type must be a Vertex AI accelerator like NVIDIA_L4; got ${JSON.stringify(acceleratorType)}`);
  return {
    project: config.projectId ?? '',
    region: values['vertex-region'] ?? 'europe-west1',
    staging: (staging ?? '').replace(/\/+$/, ''),
    image: image ?? '',
    serviceAccount: values['vertex-service-account'] ?? null,
    compute: {
      ...(machineType === undefined ? {} : { machine_type: machineType }),
      ...(acceleratorType === undefined ? {} : { accelerator_type: acceleratorType }),
      ...(count === null ? {} : { accelerator_count: count }),
    },
    timeoutSeconds: integer('vertex-timeout', 60) ?? 86_400,
  };
}

/** gs:// URIs stay as they are; folders become absolute. */
function resolveLocation(location: string): string {
  return /^gs:\/\//i.test(location) ? location : path.resolve(location);
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const write = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  let config: Readonly<PipelineSettings>;
  try {
    config = loadPipelineSettings(env);
  } catch (error) {
    write(error instanceof ConfigError ? error.message : String(error));
    return EXIT_CODES.usage;
  }
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(argv, { config, repoRoot: repoRoot(), now: new Date(), systemPython: existsSync('/usr/bin/python3') });
  } catch (error) {
    write(`error: ${(error as Error).message}`);
    return EXIT_CODES.usage;
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return EXIT_CODES.ok;
  }
  const logger = createConsoleLogger({ format: parsed.logFormat, write, level: config.logLevel });
  const controller = new AbortController();
  const interrupt = (): void => {
    logger.warning('interrupted: stopping the trainer');
    controller.abort();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const result = await runPipeline(parsed.options, {
      config,
      logger,
      progressStream: process.stderr,
      repoRoot: repoRoot(),
      signal: controller.signal,
    });
    process.stdout.write(`${JSON.stringify(result.status === 'planned' ? { status: result.status, plan: result.plan } : result)}\n`);
    return EXIT_CODES.ok;
  } catch (error) {
    if (isPipelineError(error)) {
      logger.error(error.message, { code: error.code });
      process.stdout.write(`${JSON.stringify({ status: 'failed', code: error.code, message: error.message })}\n`);
      return error.exitCode;
    }
    logger.error('the pipeline failed unexpectedly', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.stdout.write(`${JSON.stringify({ status: 'failed', code: 'unexpected', message: error instanceof Error ? error.message : String(error) })}\n`);
    return EXIT_CODES.unexpected;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_CODES.unexpected;
    },
  );
}
