/**
 * GET /health: always open (no API key). Reports status, package version, uptime and the state of
 * the models this instance has loaded. `?deep=1` loads the model (default, or ?model=) and runs
 * one warm-up inference on a synthetic image; it answers 503 when that fails.
 *
 * `status` is `ok`, `degraded` (still 200: the instance is up, but a part is failing; `degraded`
 * lists each part with its reason, and `reason` joins them: the default model cannot serve, e.g.
 * DEFAULT_MODEL names a model the store does not have, or telemetry cannot be written) or
 * `unavailable` (the deep check failed).
 */
import { performance } from 'node:perf_hooks';
import { isAppError } from '../../platform/errors';
import type { Handler } from '../http/http-function';
import type { ModelRegistry } from '../../detector/model/model-registry';
import { round } from '../../platform/round';
import type { TelemetryHealth } from '../../monitoring/telemetry/telemetry-buffer';
import { chosenModel } from './model-choice';

export interface HealthDeps {
  registry: ModelRegistry;
  defaultModel: string;
  decoderName: string;
  packageVersion: string;
  startedAtMs: number;
  /** Why telemetry is not being written, or null while it is. */
  telemetryHealth?: () => TelemetryHealth | null;
  now?: () => number;
}

export function makeHealthHandler(deps: HealthDeps): Handler {
  const now = deps.now ?? Date.now;
  return async ({ req, logger }) => {
    const deepValue = req.query?.deep;
    const deep = deepValue === '1' || deepValue === 'true';
    const modelName = chosenModel(req, deps.defaultModel);
    const body: Record<string, unknown> = {
      status: 'ok',
      version: deps.packageVersion,
      uptime_s: round((now() - deps.startedAtMs) / 1000, 3),
      default_model: deps.defaultModel,
      decoder: deps.decoderName,
    };
    const degraded: Array<Record<string, unknown> & { component: string; reason: string }> = [];
    const problem = await deps.registry.defaultModelProblem().catch(() => null);
    if (problem !== null) degraded.push({ component: 'default_model', reason: problem });
    const telemetry = deps.telemetryHealth?.() ?? null;
    if (telemetry !== null) {
      degraded.push({
        component: 'telemetry',
        reason: telemetry.reason,
        failing_since: new Date(telemetry.failingSinceMs).toISOString(),
        consecutive_failures: telemetry.consecutiveFailures,
        next_attempt_in_s: round(Math.max(0, telemetry.nextAttemptMs - now()) / 1000, 3),
        records_held: telemetry.buffered,
      });
    }
    if (degraded.length > 0) {
      body.status = 'degraded';
      body.reason = degraded.map((part) => part.reason).join('; ');
      body.degraded = degraded;
    }
    let status = 200;
    let retryAfter = '5';
    let served: { name: string; version: string } | null = null;
    if (deep) {
      const started = performance.now();
      try {
        const model = await deps.registry.get(modelName);
        const { width, height } = model.metadata.preprocessing;
        // A mid-grey image: exercises the session with the model's own input shape.
        await model.predict(new Float32Array(3 * width * height), 1);
        body.warmup_ms = round(performance.now() - started, 2);
        served = { name: model.name, version: model.version };
      } catch (error) {
        status = 503;
        body.status = 'unavailable';
        if (isAppError(error) && error.headers['Retry-After'] !== undefined) retryAfter = error.headers['Retry-After'];
        body.error = isAppError(error) ? { code: error.code, message: error.message } : { code: 'model_unavailable', message: 'the warm-up inference failed' };
        if (!isAppError(error)) logger.error('deep health check failed', { error });
      }
    }
    body.models = deps.registry.states([modelName]);
    return { status, body, headers: status === 503 ? { 'Retry-After': retryAfter } : {}, model: served };
  };
}
