/**
 * The shell commands that reproduce a run folder, for its model card: the run's own command,
 * preceded by those of the run whose checkpoint it started from (`--init-from`) and, for an
 * ensemble, those of every member. Each earlier run is read from its own training.json; one that
 * is missing is named instead of guessed.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { trainerCommand } from './run-dir';

interface RecordedRun {
  module?: unknown;
  args?: Record<string, unknown>;
  members?: Array<{ run?: unknown }>;
}

/** A path as the model card shows it: relative to the repository when inside it. */
export function shownPath(location: string, repoRoot: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(location)) return location;
  const relative = path.relative(repoRoot, path.resolve(location));
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? location : relative;
}

function readRecordedRun(runDir: string): RecordedRun | null {
  try {
    const value = JSON.parse(readFileSync(path.join(runDir, 'training.json'), 'utf8')) as RecordedRun;
    return typeof value === 'object' && value !== null && typeof value.args === 'object' && value.args !== null ? value : null;
  } catch {
    return null;
  }
}

/**
 * Commands for the run recorded by `training` (training.json of `runDir`), earliest first. A run
 * that several members share (one first stage that they all continue from) is listed once, where
 * it is first needed; `listed` carries those folders through the recursion, which also stops a
 * training.json that names itself, as `depth` does.
 */
export function reproductionCommands(runDir: string, training: RecordedRun, repoRoot: string, depth = 0, listed = new Set<string>()): string[] {
  const args = training.args ?? {};
  const module = typeof training.module === 'string' ? training.module : 'training.train';
  const lines: string[] = [];
  const earlier = (dir: string, heading: string): string[] => {
    if (listed.has(dir)) return [`# ${heading}: ${shownPath(dir, repoRoot)} (listed above)`];
    listed.add(dir);
    const jsonPath = shownPath(path.join(dir, 'training.json'), repoRoot);
    const recorded = depth < 8 ? readRecordedRun(dir) : null;
    if (recorded === null) return [`# ${heading}: ${shownPath(dir, repoRoot)} (its training.json is not available)`];
    return [`# ${heading} (from ${jsonPath})`, ...reproductionCommands(dir, recorded, repoRoot, depth + 1, listed)];
  };
  const members = Array.isArray(training.members) ? training.members : [];
  members.forEach((member, index) => {
    const dir = path.resolve(repoRoot, String(member.run));
    lines.push(...earlier(dir, `member ${index + 1} of ${members.length}`));
  });
  if (members.length > 0) lines.push(`# then the ensemble of the ${members.length} members`);
  const initFrom = args.init_from;
  if (typeof initFrom === 'string' && initFrom.length > 0) {
    const dir = path.dirname(path.resolve(repoRoot, initFrom));
    lines.push(...earlier(dir, 'pre-training whose checkpoint --init-from loads'), '# then');
  }
  // Written to the folder the later commands read it from, wherever it was first trained.
  lines.push(trainerCommand({ ...args, out: shownPath(runDir, repoRoot) }, 'python3', module));
  return lines;
}
