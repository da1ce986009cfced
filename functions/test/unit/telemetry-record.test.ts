import type { ImageFeatures } from '../../src/monitoring/features/image-features';
import {
  makeTelemetryRecord,
  parseTelemetryKey,
  parseTelemetryLine,
  sanitizeInstanceId,
  serializeRecords,
  telemetryDayPrefix,
  telemetryHourPrefix,
  telemetryObjectKey,
} from '../../src/monitoring/telemetry/telemetry-record';

const FEATURES: ImageFeatures = {
  width: 1000,
  height: 800,
  bytes: 183_342,
  format: 'jpeg',
  aspect_ratio: 1.25,
  megapixels: 0.8,
  brightness: 0.51234,
  contrast: 0.2101,
  saturation: 0.3312,
  sharpness: 0.00412,
};

describe('telemetry records', () => {
  it('serialise to NDJSON and parse back unchanged', () => {
    const records = [
      makeTelemetryRecord({
        time: new Date('2024-05-21T10:15:00.123Z'),
        model: { name: 'detector', version: '3' },
        probability: 0.91,
        prediction: 'ai_generated',
        features: FEATURES,
      }),
      makeTelemetryRecord({
        time: new Date('2024-05-21T10:16:00.000Z'),
        model: { name: 'detector', version: '3' },
        probability: 0.02,
        prediction: 'real',
        features: { ...FEATURES, format: 'png' },
      }),
    ];
    const text = serializeRecords(records);
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toBe(
      '{"time":"2024-05-21T10:15:00.123Z","model":"detector","model_version":"3","probability":0.91,"prediction":"ai_generated",' +
        '"features":{"width":1000,"height":800,"bytes":183342,"format":"jpeg","aspect_ratio":1.25,"megapixels":0.8,"brightness":0.51234,"contrast":0.2101,"saturation":0.3312,"sharpness":0.00412}}',
    );
    expect(lines.slice(0, 2).map(parseTelemetryLine)).toEqual(records);
  });

  it.each([
    ['not JSON', '{"time":', ''],
    ['an array', '[1]', ''],
    ['a bad time', JSON.stringify({ time: 'yesterday' }), 'time'],
    ['a time with an offset', JSON.stringify({ time: '2024-05-21T10:15:00+02:00' }), 'time'],
    ['a probability above 1', JSON.stringify({ time: '2024-05-21T10:15:00Z', model: 'm', model_version: '1', probability: 1.5 }), 'probability'],
    [
      'a missing feature',
      JSON.stringify({
        time: '2024-05-21T10:15:00Z',
        model: 'm',
        model_version: '1',
        probability: 0.5,
        prediction: 'real',
        features: { ...FEATURES, sharpness: undefined },
      }),
      'features.sharpness',
    ],
    [
      'an unknown format',
      JSON.stringify({
        time: '2024-05-21T10:15:00Z',
        model: 'm',
        model_version: '1',
        probability: 0.5,
        prediction: 'real',
        features: { ...FEATURES, format: 'gif' },
      }),
      'features.format',
    ],
  ])('rejects %s, naming the field', (_name, line, field) => {
    expect(() => parseTelemetryLine(line)).toThrow(expect.objectContaining({ code: 'invalid_telemetry_record', field }));
  });
});

describe('telemetry keys', () => {
  it('use the UTC day and hour of the record', () => {
    // 23:30 at UTC-2 is 01:30 UTC the next day.
    const time = new Date('2024-12-31T23:30:00-02:00');
    expect(telemetryObjectKey('detector', time, 'rev-7.abc', 42)).toBe('detector/dt=2025-01-01/hour=01/rev-7.abc-000042.ndjson');
    expect(telemetryDayPrefix('detector', time)).toBe('detector/dt=2025-01-01/');
    expect(telemetryHourPrefix('detector', time)).toBe('detector/dt=2025-01-01/hour=01/');
  });

  it('parse back, and ignore other keys such as drift reports', () => {
    expect(parseTelemetryKey('detector/dt=2025-01-01/hour=01/rev-7.abc-000042.ndjson')).toEqual({
      model: 'detector',
      date: '2025-01-01',
      hour: 1,
      instanceId: 'rev-7.abc',
      seq: 42,
    });
    expect(parseTelemetryKey('detector/drift/latest.json')).toBeNull();
    expect(parseTelemetryKey('detector/dt=2025-01-01/hour=24/i-000001.ndjson')).toBeNull();
  });

  it('make instance ids safe as file names', () => {
    expect(sanitizeInstanceId('projects/p/instances/00a1:b')).toBe('projects_p_instances_00a1_b');
    expect(sanitizeInstanceId('')).toBe('instance');
    expect(sanitizeInstanceId('x'.repeat(100))).toHaveLength(64);
  });

  it('refuse a model name that is not one folder', () => {
    expect(() => telemetryDayPrefix('a/b', new Date())).toThrow(/model name "a\/b" cannot be a folder name/);
    expect(() => telemetryObjectKey('m', new Date(), 'i', -1)).toThrow(/seq is -1/);
  });
});
