/**
 * `npx detector score <folder | file list | gs://bucket/prefix> --out results.jsonl|results.csv`:
 * bulk scoring from the command line (package.json "bin"; scripts/detector/detector.js builds and runs it).
 */
import { parseArgs } from 'node:util';
import { ConfigError, createLogger } from '../../functions/src/platform';
import { loadConfig } from '../../functions/src/serving';
import {
  listSources,
  localScorer,
  outputName,
  parseShard,
  remoteScorer,
  runScore,
  type Scorer,
  ServiceError,
  shardFromEnvironment,
  storeOpener,
  withObjectOutput,
} from './score-command';

export const USAGE = `usage: npx detector score <folder | file list | gs://bucket/prefix> --out <results.jsonl | results.csv> [options]

Scores every image (JPEG, PNG, WebP, AVIF) and writes one line per image: its verdict
(ai_generated, real or uncertain), decided_by and verdict_reasons, the pixel prediction and
probability beside them; or its error. The summary counts verdicts. A second run with the same --out skips the images already there.

  --out <file>             results: .jsonl (one JSON object per line) or .csv; a gs:// object
                           works too, and {task} in the name becomes the shard index
  --local                  score in this process with the local model store (default;
                           MODEL_STORE, else models/), through the functions' scoring core
  --url <base URL>         score against a deployment instead (POST <url>/batch)
  --api-key <key>          the deployment's API key (or DETECTOR_API_KEY)
  --model <name>           model to use (default: DEFAULT_MODEL, general)
  --concurrency <n>        scoring calls in flight (default: 1 local, 4 with --url)
  --batch <n>              images per call (default 16; at most 20 with --url)
  --retries <n>            retries of a call answered 429 or 503 or not answered (default 5)
  --shard <i/n>            score only shard i of n (by sha256 of each image's id); in a Cloud
                           Run job, CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT by default
  -h, --help               this text

A gs:// prefix or gs:// entries of a file list are read through the Cloud Storage API
(STORAGE_API_ENDPOINT and GOOGLE_CLOUD_PROJECT apply).

Exit status: 0 every image scored, 3 some images could not be scored (their lines say why),
4 the service could not be used (unreachable, or the key was refused), 2 usage, 1 anything else.
`;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'score') return usage(`unknown command ${JSON.stringify(command)}; the command is "score"`);
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        local: { type: 'boolean', default: false },
        url: { type: 'string' },
        'api-key': { type: 'string' },
        model: { type: 'string' },
        concurrency: { type: 'string' },
        batch: { type: 'string', default: '16' },
        retries: { type: 'string', default: '5' },
        shard: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) return usage(`give one source (a folder, a file list or gs://bucket/prefix); got ${positionals.length}`);
  if (values.out === undefined) return usage('--out is required');
  if (values.local === true && values.url !== undefined) return usage('--local and --url exclude each other');
  const integer = (name: string, raw: string | undefined, fallback: number, max: number) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`--${name} must be an integer from 0 to ${max}; got ${JSON.stringify(raw)}`);
    return value;
  };
  try {
    const remote = values.url !== undefined;
    const batch = integer('batch', values.batch, 16, remote ? 20 : 256) || 1;
    const concurrency = integer('concurrency', values.concurrency, remote ? 4 : 1, 64) || 1;
    const retries = integer('retries', values.retries, 5, 20);
    const shard = values.shard === undefined ? shardFromEnvironment(env) : parseShard(values.shard);
    const out = outputName(values.out, shard);
    const config = loadConfig(env);
    const openStore = storeOpener(config);
    const items = await listSources(positionals[0]!, openStore);
    const scorer: Scorer = remote
      ? remoteScorer({ url: values.url!, apiKey: values['api-key'] ?? env.DETECTOR_API_KEY ?? null, model: values.model ?? null, retries })
      : localScorer(config, values.model ?? config.defaultModel, createLogger({ level: 'error' }), openStore);
    const run = (file: string, checkpoint?: () => Promise<void>) =>
      runScore({
        items,
        out: file,
        shard,
        groupSize: batch,
        concurrency,
        scorer,
        progressStream: process.stderr,
        ...(checkpoint === undefined ? {} : { checkpoint }),
      });
    const summary = /^gs:\/\//i.test(out) ? await withObjectOutput(out, openStore, (file, upload) => run(file, upload)) : await run(out);
    process.stderr.write(
      `${summary.scored} scored (verdicts: ${summary.ai_generated} ai_generated, ${summary.real} real, ${summary.uncertain} uncertain), ${summary.failed} failed, ${summary.skipped} already in ${out}` +
        `${shard === null ? '' : `, shard ${shard.index}/${shard.count}: ${summary.inShard} of ${summary.listed} listed`} in ${summary.seconds.toFixed(1)} s\n`,
    );
    return summary.failed > 0 ? 3 : 0;
  } catch (error) {
    if (error instanceof RangeError || error instanceof ConfigError) return usage(error.message);
    if (error instanceof ServiceError) {
      process.stderr.write(`detector: ${error.code}: ${error.message}\n`);
      return 4;
    }
    process.stderr.write(`detector: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function usage(message: string): number {
  process.stderr.write(`detector: ${message}\n\n${USAGE}`);
  return 2;
}
