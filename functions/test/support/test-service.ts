/** Builds a real service (real onnxruntime, real decoders, folder model store) for integration tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { buildService, registerFunctions, type Service, type ServiceOverrides } from '../../src/serving/app';
import { loadConfig } from '../../src/serving/config';
import { createMemoryLogger } from '../../src/platform/logger';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const FIXTURE_MODELS = path.join(FIXTURES, 'models');
export const FIXTURE_IMAGES = path.join(FIXTURES, 'images');
export const SHIPPED_TRUST = path.join(__dirname, '..', '..', '..', 'models', 'trust');

export function fixtureImage(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURE_IMAGES, name));
}

export function tempDir(prefix = 'detector-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies the fixture model store into a temp folder that a test may change. */
export function copyModelStore(): string {
  const dir = tempDir('models-');
  fs.cpSync(FIXTURE_MODELS, dir, { recursive: true });
  return dir;
}

export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    MODEL_STORE: FIXTURE_MODELS,
    DEFAULT_MODEL: 'brightness',
    LOG_LEVEL: 'debug',
    RATE_LIMIT_PER_SECOND: '0',
    TELEMETRY_STORE: tempDir('telemetry-'),
    METRICS_SINK: 'none',
    // The shipped trust material (the fixture model store has none).
    C2PA_TRUST_STORE: SHIPPED_TRUST,
    ...env,
  };
}

/** Builds and registers a service; returns it with the in-memory log. */
export function startService(env: Record<string, string> = {}, overrides: ServiceOverrides = {}) {
  const logger = createMemoryLogger('debug');
  const service: Service = buildService(loadConfig(testEnv(env)), { logger, ...overrides });
  registerFunctions(service);
  return { service, logger };
}

/** A solid-colour image of the given format. */
export function solidImage(colour: { r: number; g: number; b: number }, format: 'jpeg' | 'png' | 'webp' = 'png', width = 64, height = 48): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: colour } });
  return image[format]().toBuffer();
}

export const WHITE = { r: 255, g: 255, b: 255 };
export const BLACK = { r: 0, g: 0, b: 0 };
