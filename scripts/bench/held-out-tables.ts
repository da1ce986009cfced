/**
 * Prints the held-out evaluation of one or more recipes side by side (heldout.json files written
 * by `python3 -m training.heldout_eval`), then each recipe's full tables:
 *
 *   npm run build && node dist/scripts/bench/held-out-tables.js A=runs/heldout-A/heldout.json B=runs/heldout-B/heldout.json
 */
import { readFileSync } from 'node:fs';
import { isHeldOutReport, renderHeldOut, summarizeHeldOut, type HeldOutReport } from '../../pipeline/src/held-out-report';

const pct = (value: number): string => `${(100 * value).toFixed(1)} %`;
const auc = (value: number | null | undefined): string => (value === null || value === undefined ? 'n/a' : value.toFixed(3));

function main(args: string[]): number {
  if (args.length === 0) {
    process.stderr.write('usage: node dist/scripts/bench/held-out-tables.js NAME=path/to/heldout.json [NAME=…]\n');
    return 2;
  }
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
  for (const [name, report] of reports) out.push('', `## ${name}`, '', renderHeldOut(report));
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
