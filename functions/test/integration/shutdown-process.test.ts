/**
 * Shutdown of a real server process, the way the platform does it: SIGTERM with requests in flight
 * (a mix of /predict and /batch of 8 photos), to node alone or to the whole process group under
 * `npm start`, and a SIGKILL at the end of the grace period. In every case each request gets an
 * answer (200, or 503 shutting_down when the grace period ran out) and every image answered 200
 * leaves exactly one telemetry record.
 */
import { telemetryLines } from '../support/telemetry-fixtures';
import sharp from 'sharp';
import { buildServedRoot, servingPid, startServedProcess, type ServedProcess } from '../support/served-process';
import { fixtureImage, tempDir } from '../support/test-service';

const MINUTE = 60_000;
const BATCH = 8;

interface Answer {
  /** Images answered 200 by this request. */
  images: number;
  status: number | 'connection lost';
  code?: string;
}

async function send(served: ServedProcess, photo: Buffer, kind: 'predict' | 'batch'): Promise<Answer> {
  try {
    const response =
      kind === 'predict'
        ? await fetch(`${served.url}/predict`, { method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: new Uint8Array(photo) })
        : await fetch(`${served.url}/batch`, {
            method: 'POST',
            body: (() => {
              const form = new FormData();
              for (let i = 0; i < BATCH; i += 1) form.append('images', new Blob([photo as unknown as ArrayBuffer], { type: 'image/jpeg' }), `${i}.jpg`);
              return form;
            })(),
          });
    const body = (await response.json()) as { succeeded?: number; error?: { code: string } };
    if (response.status !== 200) return { images: 0, status: response.status, ...(body.error === undefined ? {} : { code: body.error.code }) };
    return { images: kind === 'predict' ? 1 : (body.succeeded ?? 0), status: 200 };
  } catch {
    return { images: 0, status: 'connection lost' };
  }
}

let photo: Buffer;

beforeAll(async () => {
  buildServedRoot();
  photo = await sharp(fixtureImage('photo.jpg')).resize(1600, 1200, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
}, MINUTE);

const CASES = [
  { name: 'SIGTERM to node', via: 'node', target: 'node', graceMs: 8000, kill: false },
  { name: 'SIGTERM to the process group of npm start', via: 'npm', target: 'group', graceMs: 8000, kill: false },
  { name: 'SIGTERM to the process group of npm start, SIGKILL at the end of the grace period', via: 'npm', target: 'group', graceMs: 4000, kill: true },
] as const;

it.each(CASES)(
  '$name: every request is answered and every image answered 200 has one telemetry record',
  async ({ via, target, graceMs, kill }) => {
    const telemetry = tempDir('telemetry-');
    const served = await startServedProcess(
      {
        TELEMETRY_STORE: telemetry,
        FEEDBACK_STORE: tempDir('feedback-'),
        SHUTDOWN_GRACE_MS: String(graceMs),
        RATE_LIMIT_PER_SECOND: '0',
        METRICS_SINK: 'none',
        LOG_LEVEL: 'warning',
      },
      via,
    );
    const leader = served.child.pid as number;
    try {
      // The model loads before the burst, so that the burst is all inference.
      const warm = await send(served, photo, 'predict');
      expect(warm).toEqual({ images: 1, status: 200 });
      const kinds = Array.from({ length: 12 }, (_, i): 'predict' | 'batch' => (i % 2 === 0 ? 'predict' : 'batch'));
      const pending = kinds.map((kind) => send(served, photo, kind));
      // Once the first is answered, the others are being worked on.
      await Promise.race(pending);
      const signalled = Date.now();
      if (target === 'node') process.kill(servingPid(served), 'SIGTERM');
      else process.kill(-leader, 'SIGTERM');
      let killed = false;
      const killer = kill
        ? setTimeout(
            () => {
              killed = true;
              try {
                process.kill(-leader, 'SIGKILL');
              } catch {
                // already gone
              }
            },
            Math.max(0, graceMs - (Date.now() - signalled)),
          )
        : undefined;
      const answers = await Promise.all(pending);
      const exit = await served.exited;
      clearTimeout(killer);

      // Nothing is cut: every request got a 200 or a 503 shutting_down.
      expect(answers.filter((answer) => answer.status !== 200 && !(answer.status === 503 && answer.code === 'shutting_down'))).toEqual([]);
      const answered = warm.images + answers.reduce((sum, answer) => sum + answer.images, 0);
      expect(answered).toBeGreaterThan(1);
      expect(telemetryLines(telemetry)).toBe(answered);
      if (!kill) {
        expect(killed).toBe(false);
        expect(exit.signal).toBeNull();
      }
    } finally {
      try {
        process.kill(-leader, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  },
  3 * MINUTE,
);
