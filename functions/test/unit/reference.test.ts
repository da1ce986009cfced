import { FEATURE_NAMES, type FeatureName } from '../../src/monitoring/features/image-features';
import { quantileSorted } from '../../src/monitoring/drift/psi';
import { buildReference, InvalidReferenceError, parseReference, referenceKey, type ReferenceInput } from '../../src/monitoring/drift/reference';
import { isAppError } from '../../src/platform/errors';

const MODEL = { name: 'detector', version: '3' };
const CREATED_AT = new Date('2024-05-01T12:00:00.000Z');

function records(n: number): ReferenceInput[] {
  return Array.from({ length: n }, (_, i) => {
    const features = Object.fromEntries(FEATURE_NAMES.map((name, k) => [name, ((i * (7919 + k)) % 1000) / 100 + k])) as Record<FeatureName, number>;
    return { probability: ((i * 104729) % 997) / 997, prediction: i % 4 === 0 ? 'ai_generated' : 'real', features };
  });
}

describe('buildReference', () => {
  it('summarises score, prediction mix and every feature', () => {
    const input = records(400);
    const reference = buildReference(input, MODEL, { createdAt: CREATED_AT });
    expect(reference).toMatchObject({ schema_version: 1, model: MODEL, created_at: '2024-05-01T12:00:00.000Z', n: 400 });
    expect(reference.prediction_mix.ai_generated_share).toBe(0.25);
    expect(Object.keys(reference.features)).toEqual([...FEATURE_NAMES]);

    const scores = input.map((r) => r.probability).sort((a, b) => a - b);
    expect(reference.score.quantiles).toHaveLength(101);
    expect(reference.score.quantiles[0]).toBe(scores[0]);
    expect(reference.score.quantiles[100]).toBe(scores[399]);
    expect(reference.score.quantiles[37]).toBeCloseTo(quantileSorted(scores, 0.37), 15);
    // n ≤ 2000: the sample is every value, ascending.
    expect(reference.score.sample).toEqual(scores);
    const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
    const std = Math.sqrt(scores.reduce((s, x) => s + (x - mean) ** 2, 0) / scores.length);
    expect(reference.score.mean).toBeCloseTo(mean, 12);
    expect(reference.score.std).toBeCloseTo(std, 12);
  });

  it('keeps a deterministic sample of 2000 evenly spaced order statistics for larger n', () => {
    const input = records(5000);
    const a = buildReference(input, MODEL, { createdAt: CREATED_AT });
    const b = buildReference([...input].reverse(), MODEL, { createdAt: CREATED_AT });
    const sample = a.features.brightness?.sample ?? [];
    expect(sample).toHaveLength(2000);
    expect(b.features.brightness?.sample).toEqual(sample);
    const sorted = input.map((r) => r.features.brightness).sort((x, y) => x - y);
    // Rank of the k-th kept value: floor((k + 0.5) · 5000 / 2000).
    expect(sample[0]).toBe(sorted[1]);
    expect(sample[1999]).toBe(sorted[4998]);
    expect(sample[1000]).toBe(sorted[2501]);
  });

  it('rejects unusable input, naming the record and field', () => {
    expect(() => buildReference([], MODEL, { createdAt: CREATED_AT })).toThrow(/records is empty/);
    const bad = records(3);
    (bad[1] as ReferenceInput).features = { ...(bad[1] as ReferenceInput).features, sharpness: Number.NaN };
    expect(() => buildReference(bad, MODEL, { createdAt: CREATED_AT })).toThrow(/records\[1\]\.features\.sharpness is NaN/);
    expect(() => buildReference(records(3), MODEL, { createdAt: CREATED_AT, sampleSize: 5000 })).toThrow(/sampleSize is 5000/);
  });

  it('is stored next to the model version', () => {
    expect(referenceKey('detector', '3')).toBe('detector/3/reference.json');
  });
});

describe('parseReference', () => {
  const valid = (): Record<string, unknown> =>
    JSON.parse(JSON.stringify(buildReference(records(300), MODEL, { createdAt: CREATED_AT }))) as Record<string, unknown>;

  it('round-trips what buildReference writes, from bytes, text or a value', () => {
    const reference = buildReference(records(300), MODEL, { createdAt: CREATED_AT });
    const text = JSON.stringify(reference);
    expect(parseReference(Buffer.from(text))).toEqual(reference);
    expect(parseReference(text)).toEqual(reference);
    expect(parseReference(JSON.parse(text))).toEqual(reference);
  });

  /** Replaces (or, given undefined, removes) the value at a JSON pointer of a valid reference. */
  function edited(pointer: string, change: (old: unknown) => unknown): Record<string, unknown> {
    const doc = valid();
    const parts = pointer.split('/').slice(1);
    const last = parts.pop() as string;
    let parent = doc;
    for (const part of parts) parent = parent[part] as Record<string, unknown>;
    const value = change(parent[last]);
    if (value === undefined) delete parent[last];
    else parent[last] = value;
    return doc;
  }

  it.each<[string, string, (old: unknown) => unknown, string, RegExp]>([
    ['a missing field', '/prediction_mix', () => undefined, '/prediction_mix', /\/prediction_mix is missing/],
    [
      'a short quantile grid',
      '/features/brightness/quantiles',
      (q) => (q as number[]).slice(1),
      '/features/brightness/quantiles',
      /\/features\/brightness\/quantiles must NOT have fewer than 101 items/,
    ],
    ['descending quantiles', '/score/quantiles/50', () => -1, '/score/quantiles/50', /\/score\/quantiles\/50 is -1, below the previous quantile/],
    ['an unknown schema version', '/schema_version', () => 2, '/schema_version', /\/schema_version must be equal to constant/],
    ['a bad timestamp', '/created_at', () => 'yesterday', '/created_at', /\/created_at must match format "date-time"/],
    ['an unknown field', '/extra', () => true, '/extra', /\/extra is not a known field/],
    ['a share above 1', '/prediction_mix/ai_generated_share', () => 1.5, '/prediction_mix/ai_generated_share', /must be <= 1/],
    ['a sample larger than n', '/n', () => 10, '/score/sample', /\/score\/sample has 300 values but n is 10/],
  ])('rejects %s, naming the field', (_name, pointer, change, field, message) => {
    let error: unknown;
    try {
      parseReference(edited(pointer, change), 'detector/3/reference.json');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(isAppError(error)).toBe(true);
    expect((error as InvalidReferenceError).code).toBe('invalid_reference');
    expect((error as InvalidReferenceError).field).toBe(field);
    expect((error as Error).message).toMatch(/^detector\/3\/reference.json is invalid: /);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseReference('{"schema_version":', 'ref.json')).toThrow(/ref.json is not valid JSON/);
  });
});
