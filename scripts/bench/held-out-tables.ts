/**
 * Prints the held-out evaluation of one or more recipes side by side (heldout.json files written
 * by `python3 -m training.heldout_eval`), then each recipe's full tables:
 *
 *   npm run build && node dist/scripts/bench/held-out-tables.js A=runs/heldout-A/heldout.json B=runs/heldout-B/heldout.json
 *
 * --band LOW,HIGH also reads every scored REAL fold at those fixed thresholds (`real` below LOW,
 * `ai_generated` at or above HIGH: a band set elsewhere, read on the same photos as the cross-fold
 * thresholds); --product KEY,… names the folds whose held-out photos are product photos, pooled
 * apart in both readings.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  crossFoldReading,
  fixedThresholdReading,
  isHeldOutReport,
  renderCrossFold,
  renderHeldOut,
  summarizeHeldOut,
  type CrossFoldReading,
  type HeldOutReport,
} from '../../pipeline/src/held-out-report';
import { wilsonInterval } from '../../pipeline/src/operating-point';

const pct = (value: number): string => `${(100 * value).toFixed(1)} %`;
const auc = (value: number | null | undefined): string => (value === null || value === undefined ? 'n/a' : value.toFixed(3));

/** The product folds' held-out photos called AI, pooled, with their 95 % interval. */
function productLine(reading: CrossFoldReading, product: readonly string[]): string {
  const rows = reading.rows.filter((row) => product.includes(row.fold));
  const n = rows.reduce((sum, row) => sum + row.real.n, 0);
  const ai = rows.reduce((sum, row) => sum + row.real.ai, 0);
  const [low, high] = wilsonInterval(ai, n);
  return `Product photos (${product.join(', ')}) called AI: ${ai} of ${n}${n === 0 ? '' : ` = ${pct(ai / n)} (95 % CI ${pct(low)}–${pct(high)})`}.`;
}

function main(argv: string[]): number {
  const { values, positionals: args } = parseArgs({ args: argv, allowPositionals: true, options: { band: { type: 'string' }, product: { type: 'string' } } });
  if (args.length === 0) {
    process.stderr.write('usage: node dist/scripts/bench/held-out-tables.js [--band LOW,HIGH] [--product REAL/a,REAL/b] NAME=path/to/heldout.json [NAME=…]\n');
    return 2;
  }
  const band = values.band?.split(',').map(Number);
  if (band !== undefined && !(band.length === 2 && band.every((value) => value >= 0 && value <= 1) && band[0]! <= band[1]!)) {
    process.stderr.write(`--band is ${values.band}; give two probabilities LOW,HIGH with LOW ≤ HIGH, e.g. --band 0.0257,0.9967\n`);
    return 2;
  }
  const product = values.product?.split(',') ?? [];
  const reports: Array<[string, HeldOutReport]> = args.map((arg) => {
    const [name, file] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, arg];
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isHeldOutReport(parsed)) throw new Error(`${file} is not a heldout.json of training.heldout_eval`);
    return [name, parsed];
  });
  const summaries = reports.map(([name, report]) => [name, summarizeHeldOut(report)] as const);
  const realKeys = [...new Set(summaries.flatMap(([, summary]) => Object.keys(summary.realRocAuc)))].sort();
  const out = [
    `| recipe | mean held-out ROC-AUC | ${realKeys.map((key) => `${key} ROC-AUC`).join(' | ')} | held-out real called AI | held-out generators called AI | in-source uncertain |`,
    `| --- | ---: | ${realKeys.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`,
    ...summaries.map(
      ([name, s]) =>
        `| ${name} | ${auc(s.meanRocAuc)} | ${realKeys.map((key) => auc(s.realRocAuc[key])).join(' | ')} | ${pct(s.realCalledAi.share)} of ${s.realCalledAi.n} | ${pct(s.generatorsCalledAi.share)} of ${s.generatorsCalledAi.n} | ${pct(s.inSourceUncertain)} |`,
    ),
    '',
  ];
  const generatorKeys = [...new Set(summaries.flatMap(([, summary]) => Object.keys(summary.generators)))].sort();
  out.push(
    `| held-out generator | ${summaries.map(([name]) => `${name}: ROC-AUC, called AI`).join(' | ')} |`,
    `| --- | ${summaries.map(() => '---:').join(' | ')} |`,
  );
  for (const key of generatorKeys) {
    out.push(
      `| ${key} | ${summaries.map(([, s]) => (s.generators[key] ? `${auc(s.generators[key].rocAuc)}, ${pct(s.generators[key].calledAi)}` : '—')).join(' | ')} |`,
    );
  }
  for (const [name, report] of reports) {
    out.push('', `## ${name}`, '', renderHeldOut(report));
    const scored = report.folds.some((fold) => fold.scores !== undefined);
    if (scored && product.length > 0) {
      out.push('', productLine(crossFoldReading(report, { target_fpr: report.targets.fpr, target_fnr: report.targets.fnr }), product));
    }
    if (scored && band !== undefined) {
      const reading = fixedThresholdReading(report, { real_threshold: band[0]!, ai_threshold: band[1]! });
      out.push(
        '',
        `### ${name} at the fixed band [${band[0]}, ${band[1]}]`,
        '',
        renderCrossFold(reading, `Every fold read at the same thresholds: real below ${band[0]}, ai_generated at or above ${band[1]}.`),
      );
      if (product.length > 0) out.push('', productLine(reading, product));
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
