/**
 * The model card (README.md next to each published version): the data, the commands that produced
 * the run, training time, every metric measured through the serving path, calibration, the
 * train/serve agreement, the gate decision, and the limits — what the model has never seen. Pure:
 * Markdown from plain data.
 */
import type { OperatingPoint } from './operating-point';
import { type DriftReference } from '../../functions/src/monitoring';
import { type ModelMetadata } from '../../functions/src/detector';
import type { GateDecision } from './gate';
import type { BinaryMetrics } from './evaluation-metrics';
import { formatNumber, type SkewReport } from './parity';
import { formatDuration } from './progress';
import type { Robustness, TrainingRecord } from './run-dir';
import type { Answers, SplitAnswers } from './sources';
import type { DatasetReport } from './validate-dataset';
import type { DatasetInfo } from './dataset-info';

/** Formats the service accepts; a format missing from the training data is a limit worth stating. */
const SERVED_FORMATS = ['jpeg', 'png', 'webp', 'avif'];

export interface ModelCardInput {
  name: string;
  version: string;
  status: 'production' | 'candidate';
  createdAt: Date;
  metadata: ModelMetadata;
  modelSha256: string;
  modelBytes: number;
  dataset: { uri: string; info: DatasetInfo | null; report: DatasetReport | null };
  training: TrainingRecord;
  /** Shell commands that produced and published this model, in order. */
  commands: string[];
  metrics: { val: BinaryMetrics; test?: BinaryMetrics };
  skew: SkewReport;
  gate: GateDecision;
  reference: DriftReference;
  robustness: Robustness | null;
  /** Per split, the metrics of each source of a source-level dataset. */
  perSource?: Record<string, Record<string, BinaryMetrics>>;
  /** Per split, the answers of a model deciding at an operating point (real, uncertain, AI), per class and source. */
  answers?: Record<string, SplitAnswers>;
  /** Markdown lines on held-out sources and shortcuts (generalization.ts). */
  generalization?: string[];
}

const num = (value: number | null | undefined, digits = 4): string =>
  value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/**
 * How an ensemble's input views are described: the mirror image (--flip) and shifted copies
 * (--shift), with the number of views training/ensemble.py recorded (`views`).
 */
export function ensembleViews(training: Pick<TrainingRecord, 'args' | 'views'>): string {
  const flip = training.args.flip === true;
  const shift = typeof training.args.shift === 'number' && training.args.shift > 0 ? training.args.shift : 0;
  const views: string[] = [];
  if (flip) views.push('the mirrored image');
  if (shift > 0)
    views.push(`copies of ${flip ? 'both' : 'the image'} moved by ${shift} pixel${shift === 1 ? '' : 's'} left, right, up and down (edges mirrored)`);
  if (views.length === 0) return '';
  const count = typeof training.views === 'number' ? `: ${training.views} views per image` : '';
  return `, each also run on ${views.join(' and on ')}${count}`;
}

/** An ensemble's training time: its members' runs plus each run they continue from, once. */
export function ensembleTrainingTime(training: TrainingRecord): string {
  const pretraining = training.pretraining ?? [];
  const earlier =
    pretraining.length === 0
      ? ''
      : `, plus ${pretraining.map((r) => `${r.run} (${r.epochs_run ?? '?'} epochs, ${r.seconds === null ? 'time unknown' : formatDuration(r.seconds)})`).join(', ')}, which members continue from`;
  return `- Training time: ${formatDuration(training.seconds)} in all (${training.epochs_run} epochs across the members${earlier}).`;
}

export function renderModelCard(input: ModelCardInput): string {
  const { metadata, training, gate } = input;
  const pre = metadata.preprocessing;
  const splits = (['val', 'test'] as const).flatMap((split) => {
    const metrics = input.metrics[split];
    return metrics === undefined ? [] : [[split, metrics] as const];
  });
  const gateMetrics = input.metrics[gate.split] ?? input.metrics.val;
  const info = input.dataset.info;
  const report = input.dataset.report;
  const out: string[] = [];

  out.push(`# ${input.name} ${input.version}`);
  out.push('');
  out.push(
    `Tells whether a product photo was made by a generative model: P(AI-generated) from ${/^[aeiou]/i.test(metadata.architecture) ? 'an' : 'a'} ${metadata.architecture} ` +
      `(${training.params ?? metadata.parameters ?? '?'} parameters) on ${pre.width}×${pre.height} RGB input. ` +
      `Status: **${input.status === 'production' ? 'published to production' : 'candidate, rejected by the gate'}** on ${input.createdAt.toISOString()}.`,
  );
  out.push('');
  out.push(
    table(
      ['split', 'images', 'accuracy', 'precision', 'recall', 'F1', 'ROC-AUC', 'ECE', 'Brier'],
      splits.map(([split, m]) => [split, String(m.n), num(m.accuracy), num(m.precision), num(m.recall), num(m.f1), num(m.roc_auc), num(m.ece), num(m.brier)]),
    ),
  );
  out.push('');
  out.push(`Measured through the serving code (serving decoder, preprocessing and onnxruntime session), decision threshold ${metadata.threshold}.`);
  out.push('');
  out.push(...uncertaintyLines(metadata));

  out.push('## Data');
  out.push('');
  if (info !== null) {
    out.push(`- Dataset: **${info.name}** version \`${info.version}\` by ${info.author}.`);
    out.push(`- ${info.description}`);
  }
  out.push(`- Location: \`${input.dataset.uri}\``);
  if (report !== null) {
    const rows = (['train', 'val', 'test'] as const).flatMap((split) => {
      const counts = report.splits[split];
      return counts === undefined ? [] : [[split + (counts.carved ? ' (carved from train/ by content hash)' : ''), String(counts.REAL), String(counts.FAKE)]];
    });
    out.push('');
    out.push(table(['split', 'REAL', 'FAKE'], rows));
    out.push('');
    out.push(
      `- Formats: ${
        Object.entries(report.formats)
          .map(([format, count]) => `${format} ${count}`)
          .join(', ') || 'n/a'
      }.`,
    );
    if (report.shorter_side !== null) {
      out.push(`- Shorter side of the images: ${report.shorter_side.min} to ${report.shorter_side.max} px (median ${report.shorter_side.median}).`);
    }
    if (report.feedback !== undefined) {
      const fb = report.feedback;
      out.push(
        `- Feedback: ${fb.added} image(s) from \`${fb.store}\` (POST /feedback) in train only (REAL ${fb.per_class.REAL}, FAKE ${fb.per_class.FAKE}), never in val or test; ${fb.excluded.length} left out.`,
      );
    }
    out.push(
      `- Validation: ${report.errors.length} errors, ${report.warnings.length} warnings, ${report.corrupt.length} corrupt, ${report.leaks.length} leaked, ${report.duplicates.length} duplicate groups.`,
    );
  }
  out.push('');

  out.push('## Training');
  out.push('');
  out.push(
    `- Architecture: ${training.arch ?? metadata.architecture}, ${training.params ?? metadata.parameters ?? '?'} parameters, input ${training.image_size}×${training.image_size}.`,
  );
  const members = training.members ?? [];
  if (members.length > 0) {
    out.push(
      `- An ensemble: P(AI) comes from the mean of the logits of ${members.length} separately trained networks${ensembleViews(training)}. Every member trained on the same train split and none saw a validation image. Batch norm is folded into the convolutions and the weights are stored ${training.args.weights === 'int8' ? 'as int8 with a float32 scale per output channel' : 'as float16'}; the graph computes in float32, and every number below was measured with those stored weights.`,
    );
    out.push(ensembleTrainingTime(training));
    out.push('');
    out.push(
      table(
        ['member run', 'architecture', 'parameters', 'epochs (best)', 'time', 'images/s', 'val accuracy alone'],
        members.map((m) => [
          m.run,
          m.arch ?? '?',
          String(m.params ?? '?'),
          `${m.epochs_run ?? '?'} (${m.best_epoch ?? '?'})`,
          m.seconds === null ? '?' : formatDuration(m.seconds),
          String(m.images_per_s ?? '?'),
          num(m.val_accuracy),
        ]),
      ),
    );
    out.push('');
  } else {
    out.push(
      `- Epochs run: ${training.epochs_run} (best: ${training.best_epoch}); time: ${formatDuration(training.seconds)} (${training.images_per_s} images/s).`,
    );
  }
  if (typeof training.torch_version === 'string')
    out.push(`- Framework: PyTorch ${training.torch_version}, ONNX opset ${printable(training.onnx_opset ?? metadata.training?.onnx_opset)}.`);
  out.push(`- model.onnx: ${input.modelBytes} bytes, sha256 \`${input.modelSha256}\`.`);
  out.push('');
  out.push('Commands that produced this model:');
  out.push('');
  out.push('```sh');
  out.push(...input.commands);
  out.push('```');
  out.push('');

  out.push('## Evaluation');
  out.push('');
  for (const [split, m] of splits) {
    out.push(`### ${split} (${m.n} images: ${m.positives} AI-generated, ${m.negatives} real)`);
    out.push('');
    const answers = input.answers?.[split];
    if (answers !== undefined) {
      // A model deciding at an operating point: what serving answers, not a decision at one threshold.
      const row = (name: string, group: Answers) => [name, String(group.real), String(group.uncertain), String(group.ai)];
      out.push(
        `What serving answers at the operating point (\`real\` below ${answers.real_threshold}, \`ai_generated\` at or above ${answers.ai_threshold}, \`uncertain\` between):`,
        '',
        table(['', 'answered real', 'uncertain', 'answered AI'], [row('real', answers.byClass.real), row('AI-generated', answers.byClass.ai)]),
        '',
      );
      const sources = Object.entries(answers.bySource);
      if (sources.length > 0) {
        const share = (count: number, n: number) => (n === 0 ? 'n/a' : `${((100 * count) / n).toFixed(1)} %`);
        out.push(
          `Per source (${split}; the same answers; ROC-AUC needs both classes, so a one-class source has none of its own):`,
          '',
          table(
            ['source', 'images', 'answered real', 'uncertain', 'answered AI'],
            sources.map(([source, group]) => [source, String(group.n), share(group.real, group.n), share(group.uncertain, group.n), share(group.ai, group.n)]),
          ),
          '',
        );
      }
      continue;
    }
    out.push(
      table(
        ['', 'predicted real', 'predicted AI'],
        [
          ['real', String(m.confusion.tn), String(m.confusion.fp)],
          ['AI-generated', String(m.confusion.fn), String(m.confusion.tp)],
        ],
      ),
    );
    out.push('');
    const sources = input.perSource?.[split] ?? {};
    if (Object.keys(sources).length > 0) {
      out.push(`Per source (${split}; accuracy at the threshold; a one-class source has no ROC-AUC of its own):`, '');
      out.push(
        table(
          ['source', 'images', 'accuracy', 'ROC-AUC'],
          Object.entries(sources).map(([source, metrics]) => [source, String(metrics.n), num(metrics.accuracy), num(metrics.roc_auc)]),
        ),
      );
      out.push('');
    }
  }
  if (input.robustness !== null) {
    out.push(
      `JPEG robustness (${input.robustness.split}, ${input.robustness.n} images re-encoded at quality ${input.robustness.quality}): ` +
        `accuracy drops ${num(input.robustness.drop_points, 2)} points.`,
    );
    out.push('');
  }

  out.push('## Calibration');
  out.push('');
  out.push(`Reliability on ${gate.split} (10 equal-width bins of P(AI)); ECE ${num(gateMetrics.ece)}, Brier score ${num(gateMetrics.brier)}.`);
  out.push('');
  out.push(
    table(
      ['P(AI) bin', 'images', 'mean P(AI)', 'share AI-generated'],
      gateMetrics.reliability.map((bin) => [
        `${bin.lower.toFixed(1)}–${bin.upper.toFixed(1)}`,
        String(bin.count),
        num(bin.mean_probability, 3),
        num(bin.positive_rate, 3),
      ]),
    ),
  );
  out.push('');

  out.push('## Train/serve agreement');
  out.push('');
  for (const check of input.skew.checks)
    out.push(`- ${check.passed ? '✓' : '✗'} ${check.name}: ${formatNumber(check.value)} (limit ${formatNumber(check.limit)})`);
  out.push('');

  out.push('## Gate');
  out.push('');
  out.push(`${gate.passed ? 'Passed' : 'Rejected'} on ${gate.split}:`);
  out.push('');
  for (const check of gate.checks) out.push(`- ${check.passed ? '✓' : '✗'} ${check.detail}`);
  out.push('');

  if (input.generalization !== undefined) out.push(...input.generalization);

  out.push('## Limits: what this model has never seen');
  out.push('');
  const formats = report === null ? [] : Object.keys(report.formats);
  const unseen = SERVED_FORMATS.filter((format) => !formats.includes(format));
  if (report !== null && unseen.length > 0) out.push(`- Formats: it was trained on ${formats.join(', ')} only; the service also accepts ${unseen.join(', ')}.`);
  const feature = (name: string): { low: number; high: number } | null => {
    const q = input.reference.features[name]?.quantiles;
    return q === undefined ? null : { low: q[1] as number, high: q[99] as number };
  };
  const widths = input.reference.features.width?.quantiles;
  const heights = input.reference.features.height?.quantiles;
  if (widths !== undefined && heights !== undefined) {
    const span = (q: number[]): string => (q[0] === q[100] ? `${q[0]}` : `${q[0]}–${q[100]}`);
    out.push(
      `- Image size: evaluated images were ${span(widths)} px wide and ${span(heights)} px high; ` +
        (metadata.patches === undefined
          ? `every image is reduced to ${pre.width}×${pre.height} (${pre.resize}), so detail finer than that is invisible to it, ` +
            'and much larger photos lose more of it than the evaluation shows.'
          : `images are scored at native resolution, ${metadata.patches.count} patches of ${metadata.patches.size} px on an even grid, ` +
            'so on a much larger photo the patches cover a smaller share of it than in the evaluation.'),
    );
  }
  const ranges = ['brightness', 'contrast', 'saturation', 'sharpness']
    .map((name) => [name, feature(name)] as const)
    .filter((entry): entry is readonly [string, { low: number; high: number }] => entry[1] !== null)
    .map(([name, range]) => `${name} ${range.low.toPrecision(3)}–${range.high.toPrecision(3)}`);
  if (ranges.length > 0)
    out.push(
      `- Appearance (1st–99th percentile of the evaluation images): ${ranges.join(', ')}. Photos outside these ranges are extrapolation; the drift monitor compares live traffic with exactly these distributions.`,
    );
  out.push(
    `- Sources: only the cameras, scenes and image generators represented in ${info === null ? 'the dataset' : `${info.name} ${info.version}`}; ` +
      'images from other generators, heavy edits, composites, screenshots and photos of screens were not part of training or evaluation.',
  );
  out.push(`- The decision threshold is ${metadata.threshold}; P(AI) is calibrated only as far as the table above shows.`);
  out.push('');
  return out.join('\n');
}

function printable(value: unknown): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : '?';
}

/** The model card's account of the uncertainty band (metadata.json `uncertainty`, pipeline/src/uncertainty-band.ts). */
export function uncertaintyLines(metadata: ModelMetadata): string[] {
  const u = metadata.uncertainty;
  if (u === undefined) return [];
  const share = u.share_in_band === undefined ? '?' : `${(100 * u.share_in_band).toFixed(2)} %`;
  const outside = u.accuracy_outside === undefined || u.accuracy_outside === null ? 'n/a (no image outside)' : `${(100 * u.accuracy_outside).toFixed(2)} %`;
  const point = metadata.operating_point as OperatingPoint | undefined;
  if (point !== undefined && u.target_fpr !== undefined) {
    const pct = (value: number) => `${(100 * value).toFixed(2)} %`;
    const interval = (range: [number, number]) => `95 % CI ${pct(range[0])}–${pct(range[1])}`;
    const serving = `Serving answers \`ai_generated\` for P(AI) ≥ **${point.ai_threshold}**, \`real\` below **${point.real_threshold}** and \`uncertain\` between. `;
    const heldOut = point.held_out;
    const body =
      heldOut === undefined
        ? [
            serving +
              `Both thresholds were set on ${point.split} only: at most ${pct(point.target_fpr)} of its ${point.real_images} real photos called AI ` +
              `(measured ${pct(point.fpr)}, ${interval(point.fpr_ci)}), at most ${pct(point.target_fnr)} of its ${point.fake_images} fakes called real (measured ${pct(point.fnr)}). ` +
              `Fakes called AI: ${pct(point.tpr)} (${interval(point.tpr_ci)}); ${pct(point.share_uncertain)} of ${point.split} between the thresholds.`,
          ]
        : [
            serving +
              `Both thresholds were set on held-out collections, never on validation: at most ${pct(point.target_fpr)} of the ${heldOut.real_images} real photos of the held-out folds (${heldOut.folds.join(', ')}) called AI, ` +
              `at most ${pct(point.target_fnr)} of the ${heldOut.generator_images} scores they gave validation images of the generator folders, which no fold trained on (an image scored by several folds counts once per fold), called real.`,
            '',
            `What they do on a collection they were not set on (each fold at thresholds set the same way on the other folds only, pooled): ` +
              `real photos called AI **${pct(heldOut.cross_fold.fpr)}** (${interval(heldOut.cross_fold.fpr_ci)}); generator images called AI ${pct(heldOut.cross_fold.tpr)} (${interval(heldOut.cross_fold.tpr_ci)}), called real ${pct(heldOut.cross_fold.fnr)}; ` +
              `each fold's own validation images uncertain ${heldOut.cross_fold.share_uncertain_in_source === null ? 'n/a' : pct(heldOut.cross_fold.share_uncertain_in_source)} (mean).`,
            '',
            `On ${point.split} (in-source): real photos called AI ${pct(point.fpr)} (${interval(point.fpr_ci)}), fakes called AI ${pct(point.tpr)} (${interval(point.tpr_ci)}), fakes called real ${pct(point.fnr)}; ${pct(point.share_uncertain)} of ${point.split} between the thresholds.`,
          ];
    const method = u.method ?? `see pipeline/src/${heldOut === undefined ? 'operating-point.ts' : 'held-out-report.ts'}`;
    return ['## Operating point', '', ...body, '', `Method: ${method}.`, ''];
  }
  return [
    '## Uncertainty band',
    '',
    `Serving answers \`verdict: "uncertain"\` for P(AI) in **[${u.band[0]}, ${u.band[1]}]**, where accuracy on ${u.split ?? 'val'} falls below ${(100 * (u.target_accuracy ?? 0.9)).toFixed(0)} %. ` +
      `${share} of the ${u.images ?? '?'} ${u.split ?? 'val'} images fall in the band; accuracy on the images outside it: **${outside}**.`,
    '',
    `Method: ${u.method ?? 'see pipeline/src/uncertainty-band.ts'}.`,
    '',
  ];
}
