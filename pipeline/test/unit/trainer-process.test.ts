import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isPipelineError } from '../../src/errors';
import { estimateRemainingSeconds, formatDuration, Progress, renderBar } from '../../src/progress';
import { describeState, foldEvent, initialState, parseTrainerLine, quoteArgument, runTrainer, type TrainerEvent } from '../../src/trainer/trainer-process';

describe('parseTrainerLine', () => {
  it.each<[string, string, TrainerEvent | null]>([
    ['a start event', '{"event":"start","total_steps":120,"epochs":3,"train_images":900}', { event: 'start', total_steps: 120, epochs: 3, train_images: 900 }],
    [
      'a step event',
      '{"event":"step","epoch":1,"step":20,"total_steps":120,"loss":0.68,"images_per_s":965.8,"lr":0.0001}',
      { event: 'step', epoch: 1, step: 20, total_steps: 120, loss: 0.68, images_per_s: 965.8, lr: 0.0001 },
    ],
    [
      'a step whose loss was not finite (written as null)',
      '{"event":"step","epoch":1,"step":1,"total_steps":2,"loss":null}',
      { event: 'step', epoch: 1, step: 1, total_steps: 2, loss: null, images_per_s: null },
    ],
    [
      'an epoch event',
      '{"event":"epoch","epoch":1,"step":40,"train_loss":0.5,"val":{"accuracy":0.9,"roc_auc":0.95,"loss":0.3},"seconds":12.5}',
      { event: 'epoch', epoch: 1, step: 40, train_loss: 0.5, val: { accuracy: 0.9, roc_auc: 0.95, loss: 0.3 }, seconds: 12.5 },
    ],
    [
      'a done event',
      '{"event":"done","best_epoch":2,"best_val":{"accuracy":0.91},"seconds":30}',
      { event: 'done', best_epoch: 2, best_val: { accuracy: 0.91 }, seconds: 30 },
    ],
    ['an error event', '{"event":"error","message":"ValueError: no images"}', { event: 'error', message: 'ValueError: no images' }],
    ['surrounding whitespace', '  {"event":"error","message":"x"}\r', { event: 'error', message: 'x' }],
    ['plain text', 'decoding 900 images at 32px', null],
    ['broken JSON', '{"event":"step",', null],
    ['a JSON array', '[1,2]', null],
    ['an unknown event', '{"event":"heartbeat"}', null],
    ['a step without numbers', '{"event":"step","epoch":1,"step":"3","total_steps":10,"loss":0.1}', null],
    ['an epoch without val accuracy', '{"event":"epoch","epoch":1,"val":{}}', null],
    ['an error without a message', '{"event":"error"}', null],
  ])('%s', (_name, line, expected) => {
    expect(parseTrainerLine(line)).toEqual(expected);
  });
});

describe('training state and its progress text', () => {
  it('folds events into what the progress line shows', () => {
    let state = initialState();
    for (const line of [
      '{"event":"start","total_steps":100,"epochs":5}',
      '{"event":"step","epoch":1,"step":20,"total_steps":100,"loss":0.6931,"images_per_s":250.4}',
      '{"event":"epoch","epoch":1,"step":20,"train_loss":0.7,"val":{"accuracy":0.8125,"roc_auc":0.9},"seconds":3}',
    ]) {
      state = foldEvent(state, parseTrainerLine(line) as TrainerEvent);
    }
    expect(state).toMatchObject({ totalSteps: 100, step: 20, epoch: 1, epochs: 5, loss: 0.6931 });
    expect(describeState(state)).toBe('epoch 1/5 · loss 0.6931 · val acc 0.8125 · 250 img/s');
  });
});

describe('progress maths', () => {
  it.each([
    [0, '0s'],
    [42.4, '42s'],
    [185, '3m05s'],
    [7620, '2h07m'],
    [-1, '--'],
    [Number.NaN, '--'],
  ])('formats %p seconds as %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('estimates the remaining time from the rate since the first point', () => {
    expect(estimateRemainingSeconds(null, 1000, 5, 10)).toBeNull();
    expect(estimateRemainingSeconds({ atMs: 0, done: 10 }, 5000, 10, 100)).toBeNull();
    // 10 steps in 20 s → 2 s per step, 80 steps left.
    expect(estimateRemainingSeconds({ atMs: 0, done: 10 }, 20_000, 20, 100)).toBeCloseTo(160, 9);
    expect(estimateRemainingSeconds({ atMs: 0, done: 0 }, 10_000, 100, 100)).toBe(0);
  });

  it('draws a bar of a fixed width', () => {
    expect(renderBar(0.5, 10)).toBe('[#####-----]');
    expect(renderBar(2, 4)).toBe('[####]');
    expect(renderBar(Number.NaN, 4)).toBe('[----]');
  });

  it('writes periodic lines, not a redrawn bar, when stderr is not a terminal', () => {
    let now = 0;
    const written: string[] = [];
    const progress = new Progress({ stream: { write: (text: string) => written.push(text) }, label: 'train: step', intervalMs: 30_000, now: () => now });
    progress.update(1, 100, 'epoch 1');
    now = 10_000;
    progress.update(11, 100, 'epoch 1');
    now = 31_000;
    progress.update(31, 100, 'epoch 2');
    now = 40_000;
    progress.update(100, 100, 'epoch 3');
    expect(written).toEqual([
      'train: step 1/100 (1%) · epoch 1 · ETA --\n',
      'train: step 31/100 (31%) · epoch 2 · ETA 1m11s\n', // 30 steps in 31 s, 69 left
      'train: step 100/100 (100%) · epoch 3 · took 40s\n',
    ]);
  });

  it('redraws one line with a bar on a terminal', () => {
    let now = 0;
    const written: string[] = [];
    const progress = new Progress({ stream: { write: (text: string) => written.push(text), isTTY: true, columns: 80 }, label: 'step', now: () => now });
    progress.update(0, 10);
    now = 1000;
    progress.update(5, 10);
    progress.finish();
    expect(written[1]?.startsWith('\r[')).toBe(true);
    expect(written[1]?.endsWith('] step 5/10 (50%) · ETA 1s\u001b[K')).toBe(true);
    expect(written.at(-1)).toBe('\n');
  });
});

describe('runTrainer', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'run-trainer-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A stand-in trainer: a Node script that prints the given stdout and stderr lines, then exits. */
  function fakeTrainer(name: string, stdout: string[], stderr: string[], exitCode: number): string {
    const file = path.join(dir, `${name}.js`);
    writeFileSync(
      file,
      `for (const line of ${JSON.stringify(stderr)}) process.stderr.write(line + '\\n');\n` +
        `for (const line of ${JSON.stringify(stdout)}) process.stdout.write(line + '\\n');\n` +
        `process.exitCode = ${exitCode};\n`,
    );
    return file;
  }

  const run = (script: string, log: string, events: TrainerEvent[] = []) =>
    runTrainer({
      command: process.execPath,
      args: [script, '--out', 'a dir'],
      cwd: dir,
      logFile: path.join(dir, log),
      progressStream: { write: () => true },
      onEvent: (event) => events.push(event),
    });

  it('collects the events, keeps every line in the log and returns the done event', async () => {
    const stdout = [
      '{"event":"start","total_steps":2,"epochs":1}',
      'a stray print',
      '{"event":"step","epoch":1,"step":1,"total_steps":2,"loss":0.7,"images_per_s":10}',
      '{"event":"step","epoch":1,"step":2,"total_steps":2,"loss":0.6,"images_per_s":10}',
      '{"event":"epoch","epoch":1,"train_loss":0.65,"val":{"accuracy":0.5,"roc_auc":0.5},"seconds":1}',
      '{"event":"export","path":"model.onnx"}',
      '{"event":"done","best_epoch":1,"best_val":{"accuracy":0.5},"seconds":2}',
    ];
    const seen: TrainerEvent[] = [];
    const result = await run(fakeTrainer('ok', stdout, ['listing and hashing'], 0), 'ok.log', seen);
    expect(result.done).toEqual({ event: 'done', best_epoch: 1, best_val: { accuracy: 0.5 }, seconds: 2 });
    expect(result.events.map((event) => event.event)).toEqual(['start', 'step', 'step', 'epoch', 'export', 'done']);
    expect(seen).toEqual(result.events);
    const log = readFileSync(path.join(dir, 'ok.log'), 'utf8');
    expect(log.split('\n')[0]).toMatch(/^\$ .+node.* .+ok\.js --out 'a dir'$/);
    for (const line of [...stdout, 'listing and hashing']) expect(log).toContain(line);
  });

  it("fails with the trainer's own error message and the log location", async () => {
    const script = fakeTrainer('error', ['{"event":"error","message":"DatasetError: no train/ folder"}'], ['Traceback (most recent call last):', 'boom'], 1);
    const failure = await run(script, 'error.log').catch((error: unknown) => error);
    expect(isPipelineError(failure) && failure.code).toBe('training_failed');
    expect((failure as Error).message).toContain('the trainer reported: DatasetError: no train/ folder; full log: ');
    expect((failure as Error).message).toContain('error.log');
    expect((failure as Error).message).toContain('last lines of its stderr:\n  Traceback (most recent call last):\n  boom');
  });

  it('fails on a non-zero exit without an error event, and on a clean exit without "done"', async () => {
    await expect(run(fakeTrainer('crash', [], ['Killed'], 137), 'crash.log')).rejects.toThrow('the trainer exited with status 137');
    await expect(run(fakeTrainer('silent', ['{"event":"start","total_steps":1}'], [], 0), 'silent.log')).rejects.toThrow(
      'the trainer exited without a "done" event',
    );
  });

  it('fails clearly when the trainer cannot be started', async () => {
    await expect(
      runTrainer({
        command: path.join(dir, 'no-such-python'),
        args: [],
        cwd: dir,
        logFile: path.join(dir, 'missing.log'),
        progressStream: { write: () => true },
      }),
    ).rejects.toThrow(/could not start the trainer .*no-such-python.*ENOENT/);
  });
});

describe('quoteArgument', () => {
  it.each([
    ['--epochs', '--epochs'],
    ['data/cifake', 'data/cifake'],
    ['a dir', "'a dir'"],
    ["it's", "'it'\\''s'"],
  ])('%p → %p', (argument, quoted) => {
    expect(quoteArgument(argument)).toBe(quoted);
  });
});
