/**
 * What a run's folder says about sources it never trained on, for the model card:
 *   loso.json    python3 -m training.loso: one fold per source, trained without it, tested on it
 *   probes.json  python3 -m training.shortcut_probes: how far file-level features alone separate
 *                the classes, and how well a linear probe tells the REAL sources apart from the
 *                detector's own embedding (high: it still knows which collection a photo is from)
 * Both are optional; a run without them says so in its card.
 */
export interface HeldOutScores {
  roc_auc: number | null;
  accuracy: number;
  coverage: number;
  wrong: number;
  identity?: boolean;
}

export interface LosoFold {
  source: string;
  held_out_images: number;
  in_source_val: { accuracy: number; roc_auc: number | null; coverage: number; n: number };
  threshold: number;
  original: HeldOutScores;
  jpeg75: HeldOutScores;
  long512: HeldOutScores;
  half: HeldOutScores;
}

export interface LosoReport {
  recipe: Record<string, unknown>;
  folds: LosoFold[];
}

export interface ProbeReport {
  file_features: { features: string[]; classifier: string; val_accuracy: number; chance: number; n_train: number; n_val: number };
  source_probe: { sources: string[]; val_accuracy: number; chance: number; n_train: number; n_val: number } | null;
}

const pct = (value: number): string => `${(100 * value).toFixed(1)} %`;
const auc = (value: number | null): string => (value === null ? 'n/a' : value.toFixed(3));

function mean(values: Array<number | null>): number | null {
  const present = values.filter((value): value is number => value !== null && Number.isFinite(value));
  return present.length === 0 ? null : present.reduce((sum, value) => sum + value, 0) / present.length;
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export function isLosoReport(value: unknown): value is LosoReport {
  const folds = (value as { folds?: unknown } | null)?.folds;
  return (
    Array.isArray(folds) && folds.every((fold) => typeof (fold as LosoFold).source === 'string' && typeof (fold as LosoFold).original?.accuracy === 'number')
  );
}

export function isProbeReport(value: unknown): value is ProbeReport {
  return typeof (value as ProbeReport | null)?.file_features?.val_accuracy === 'number';
}

/** Headline numbers of a leave-one-source-out report: means over the folds. */
export function losoSummary(report: LosoReport): { roc_auc: number | null; wrong: number | null; coverage: number | null; in_source_coverage: number | null } {
  return {
    roc_auc: mean(report.folds.map((fold) => fold.original.roc_auc)),
    wrong: mean(report.folds.map((fold) => fold.original.wrong)),
    coverage: mean(report.folds.map((fold) => fold.original.coverage)),
    in_source_coverage: mean(report.folds.map((fold) => fold.in_source_val.coverage)),
  };
}

/** Model-card sections; lines of Markdown. */
export function renderGeneralization(loso: LosoReport | null, probes: ProbeReport | null): string[] {
  const out: string[] = ['## Sources it was not trained on', ''];
  if (loso === null || loso.folds.length === 0) {
    out.push('This run has no leave-one-source-out evaluation (loso.json): nothing is known about images from other sources.', '');
  } else {
    const r = loso.recipe;
    out.push(
      `Leave-one-source-out: for each source, the recipe was trained again without it (schedule of these runs: ${String(r.epochs)} epochs of ` +
        `${String(r.samples_per_epoch)} patches, representation ${String(r.representation)}, width ${String(r.width)}), and tested on that source ` +
        'against validation images of the other class that the run never trained on. Threshold and out-of-distribution statistics come from ' +
        "each run's own in-source validation split. *Coverage* is the share of held-out images decided (not out of distribution); " +
        '*decided wrongly* is the share decided and wrong. Accuracy is on the held-out images alone.',
      '',
    );
    const rows = loso.folds.map((fold) => [
      fold.source,
      String(fold.held_out_images),
      auc(fold.original.roc_auc),
      pct(fold.original.accuracy),
      pct(fold.original.coverage),
      pct(fold.original.wrong),
      pct(fold.in_source_val.accuracy),
      pct(fold.in_source_val.coverage),
    ]);
    const s = losoSummary(loso);
    rows.push([
      '**mean**',
      '',
      `**${auc(s.roc_auc)}**`,
      pct(mean(loso.folds.map((f) => f.original.accuracy)) ?? 0),
      pct(s.coverage ?? 0),
      `**${pct(s.wrong ?? 0)}**`,
      pct(mean(loso.folds.map((f) => f.in_source_val.accuracy)) ?? 0),
      pct(s.in_source_coverage ?? 0),
    ]);
    out.push(
      table(['held-out source', 'images', 'ROC-AUC', 'accuracy', 'coverage', 'decided wrongly', 'in-source val accuracy', 'in-source coverage'], rows),
      '',
    );
    const identity = loso.folds.every((fold) => fold.long512.identity === true);
    out.push(
      `Held-out ROC-AUC after JPEG quality 75, after a downscale to 512 px on the long side${identity ? ' (no image here is larger, so that row equals the original)' : ''}, and after halving both sides:`,
      '',
      table(
        ['held-out source', 'original', 'JPEG q75', 'long side 512', '0.5× downscale'],
        [
          ...loso.folds.map((f) => [f.source, auc(f.original.roc_auc), auc(f.jpeg75.roc_auc), auc(f.long512.roc_auc), auc(f.half.roc_auc)]),
          ['**mean**', ...(['original', 'jpeg75', 'long512', 'half'] as const).map((k) => auc(mean(loso.folds.map((f) => f[k].roc_auc))))],
        ],
      ),
      '',
    );
  }
  out.push('## Shortcuts it may still use', '');
  if (probes === null) {
    out.push('This run has no shortcut probes (probes.json).', '');
  } else {
    const f = probes.file_features;
    out.push(
      `- File-level features alone (${f.features.join(', ')}; ${f.classifier}, trained on ${f.n_train} training images) label ${pct(f.val_accuracy)} of ${f.n_val} validation images correctly (chance: ${pct(f.chance)}). ` +
        'Whatever the detector scores above that, it had to find in the pixels; whatever it scores below, a file-format shortcut would have matched.',
    );
    const p = probes.source_probe;
    if (p !== null) {
      out.push(
        `- A linear probe on the detector's pooled embedding tells the REAL sources (${p.sources.join(', ')}) apart on ${pct(p.val_accuracy)} of ${p.n_val} validation photos ` +
          `(chance, the largest source's share: ${pct(p.chance)}). Far above chance means the detector still knows which collection a real photo came from.`,
      );
    }
    out.push('');
  }
  return out;
}
