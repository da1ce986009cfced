/**
 * The held-out-source evaluations a patch recipe asks for (recipe.evaluation), run after training
 * into the run folder, where the model card reads them (generalization.ts):
 *   python3 -m training.loso            → loso.json   (one training per source, without it)
 *   python3 -m training.shortcut_probes → probes.json
 *   python3 -m training.heldout_eval    → heldout.json (folds at the operating point)
 * Held-out runs use the recipe's trainer flags with `leave_one_source_out.trainer` on top (usually a
 * shorter schedule, which the card states). They run where the pipeline runs, on its CPU threads.
 */
import type { RecipeEvaluation, TrainerFlagValue } from './recipe';
import { recipeTrainerArgs } from './recipe';
import { runPythonModule } from './run-python';

export interface SourceEvaluationRequest {
  python: string;
  cwd: string;
  runDir: string;
  datasetRoot: string;
  /** The recipe's trainer flags (without --dataset, --out, --name). */
  trainer: Readonly<Record<string, TrainerFlagValue>>;
  evaluation: RecipeEvaluation;
  threads: number;
  logFile: string;
}

/** The training.loso command line (after `python3`), or null when the recipe asks for none. */
export function losoArgs(request: Omit<SourceEvaluationRequest, 'python' | 'cwd' | 'logFile'>): string[] | null {
  const loso = request.evaluation.leave_one_source_out;
  if (loso === undefined) return null;
  const own = ['-m', 'training.loso', '--dataset', request.datasetRoot, '--out', request.runDir];
  if (loso['max-test'] !== undefined) own.push('--max-test', String(loso['max-test']));
  if (loso.sources !== undefined) own.push('--sources', loso.sources.join(','));
  const trainer = { ...request.trainer, ...(loso.trainer ?? {}), threads: request.threads };
  return [...own, '--', ...recipeTrainerArgs(trainer)];
}

/** The training.heldout_eval command line (after `python3`), or null when the recipe asks for none. */
export function heldOutArgs(request: Omit<SourceEvaluationRequest, 'python' | 'cwd' | 'logFile'>): string[] | null {
  const heldOut = request.evaluation.held_out;
  if (heldOut === undefined) return null;
  const own = ['-m', 'training.heldout_eval', '--dataset', request.datasetRoot, '--out', request.runDir, '--folds', heldOut.folds.join(',')];
  if (heldOut['max-test'] !== undefined) own.push('--max-test', String(heldOut['max-test']));
  if (heldOut['target-fpr'] !== undefined) own.push('--target-fpr', String(heldOut['target-fpr']));
  if (heldOut['target-fnr'] !== undefined) own.push('--target-fnr', String(heldOut['target-fnr']));
  const trainer = { ...request.trainer, ...(heldOut.trainer ?? {}), threads: request.threads };
  return [...own, '--', ...recipeTrainerArgs(trainer)];
}

export function probeArgs(request: Omit<SourceEvaluationRequest, 'python' | 'cwd' | 'logFile' | 'trainer'>): string[] | null {
  const probes = request.evaluation.shortcut_probes;
  if (probes === undefined) return null;
  const args = ['-m', 'training.shortcut_probes', request.runDir, '--dataset', request.datasetRoot, '--threads', String(request.threads)];
  if (probes['per-source'] !== undefined) args.push('--per-source', String(probes['per-source']));
  return args;
}

export async function runSourceEvaluations(request: SourceEvaluationRequest, onStart: (what: string) => void): Promise<void> {
  const loso = losoArgs(request);
  if (loso !== null) {
    onStart('leave-one-source-out: one shorter training per source');
    await runPythonModule({ python: request.python, cwd: request.cwd, args: loso, logFile: request.logFile, what: 'leave-one-source-out evaluation' });
  }
  const heldOut = heldOutArgs(request);
  if (heldOut !== null) {
    const own = Object.keys(request.evaluation.held_out?.trainer ?? {}).length === 0;
    onStart(
      request.evaluation.held_out?.['set-operating-point'] === true
        ? "held-out folds, one training per fold on the model's own schedule: their held-out photos set its thresholds"
        : `held-out folds at the operating point: one training per fold${own ? '' : ' (with the overrides of evaluation.held_out.trainer)'}`,
    );
    await runPythonModule({ python: request.python, cwd: request.cwd, args: heldOut, logFile: request.logFile, what: 'held-out evaluation' });
  }
  const probes = probeArgs(request);
  if (probes !== null) {
    onStart('shortcut probes: file-level features and a REAL-source probe on the embedding');
    await runPythonModule({ python: request.python, cwd: request.cwd, args: probes, logFile: request.logFile, what: 'shortcut probes' });
  }
}
