/**
 * The dataset-validation flags shared by `npm run pipeline` and the dataset upload script: one
 * declaration for parseArgs, one help text and one parser, so both commands accept and check the
 * same thresholds the same way.
 */
import { DEFAULT_THRESHOLDS, type ValidationThresholds } from './validate-dataset';

export const VALIDATION_FLAGS = {
  'val-fraction': { type: 'string' },
  'min-train-per-class': { type: 'string' },
  'min-eval-per-class': { type: 'string' },
  'max-imbalance': { type: 'string' },
  'max-corrupt': { type: 'string' },
  'max-duplicate-share': { type: 'string' },
  'max-leaks': { type: 'string' },
} as const;

export type ValidationFlag = keyof typeof VALIDATION_FLAGS;

export const VALIDATION_HELP = `  --val-fraction <f>         share of train/ the trainer carves out as val/ when there is none (default: ${DEFAULT_THRESHOLDS.valFraction})
  --min-train-per-class <n>  fewest usable images per class in train/ (default: ${DEFAULT_THRESHOLDS.minTrainPerClass})
  --min-eval-per-class <n>   fewest usable images per class in val/ and test/ (default: ${DEFAULT_THRESHOLDS.minEvalPerClass})
  --max-imbalance <ratio>    largest class / smallest class within a split (default: ${DEFAULT_THRESHOLDS.maxImbalance})
  --max-corrupt <n>          corrupt or serving-refused images tolerated (default: ${DEFAULT_THRESHOLDS.maxCorrupt})
  --max-duplicate-share <f>  extra byte-identical copies within a split (default: ${DEFAULT_THRESHOLDS.maxDuplicateShare})
  --max-leaks <n>            evaluation images whose bytes are also in another split (default: ${DEFAULT_THRESHOLDS.maxLeaks})`;

/** Reads the validation flags; each bad value adds a message to `problems` and keeps its default. */
export function parseValidationFlags(values: Partial<Record<ValidationFlag, string | undefined>>, problems: string[]): ValidationThresholds {
  const number = (flag: ValidationFlag, fallback: number, check: (value: number) => boolean, rule: string): number => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
      problems.push(`--${flag} must be ${rule}; got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  const count = (flag: ValidationFlag, fallback: number): number => number(flag, fallback, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  return {
    minTrainPerClass: count('min-train-per-class', DEFAULT_THRESHOLDS.minTrainPerClass),
    minEvalPerClass: count('min-eval-per-class', DEFAULT_THRESHOLDS.minEvalPerClass),
    maxImbalance: number('max-imbalance', DEFAULT_THRESHOLDS.maxImbalance, (v) => v >= 1, 'a ratio ≥ 1'),
    maxCorrupt: count('max-corrupt', DEFAULT_THRESHOLDS.maxCorrupt),
    maxDuplicateShare: number('max-duplicate-share', DEFAULT_THRESHOLDS.maxDuplicateShare, (v) => v >= 0 && v <= 1, 'a number from 0 to 1'),
    maxLeaks: count('max-leaks', DEFAULT_THRESHOLDS.maxLeaks),
    valFraction: number('val-fraction', DEFAULT_THRESHOLDS.valFraction, (v) => v >= 0 && v < 1, 'a number in [0, 1)'),
  };
}
