/**
 * The training pipeline's settings: the detector's (model store, image limits, onnxruntime threads,
 * storage, logging) and the Vertex AI endpoint of `--runner vertex`. The pipeline never reads the
 * service's settings.
 */
import { DETECTOR_SETTINGS, type DetectorSettings, readDetectorSettings } from '../../functions/src/detector';
import { ConfigError, type Env, optionalText, readSettings, settingOf } from '../../functions/src/platform';

export interface PipelineSettings extends DetectorSettings {
  vertexApiEndpoint: string | null;
}

interface PipelineOwnSettings {
  vertexApiEndpoint: string | null;
}

const setting = settingOf<PipelineOwnSettings>();

const PIPELINE_OWN_SETTINGS = [
  setting(
    'vertexApiEndpoint',
    'VERTEX_API_ENDPOINT',
    '',
    optionalText,
    'Vertex AI API endpoint override for `npm run pipeline -- --runner vertex` (tests, a local server); default: https://<region>-aiplatform.googleapis.com.',
  ),
] as const;

/** Every variable the pipeline reads; docs/configuration.md lists them. */
export const PIPELINE_SETTINGS = [...DETECTOR_SETTINGS, ...PIPELINE_OWN_SETTINGS] as const;

/** Parses and validates the environment; throws one ConfigError naming every bad variable. */
export function loadPipelineSettings(env: Env): Readonly<PipelineSettings> {
  const problems: string[] = [];
  const detector = readDetectorSettings(env, problems);
  const own = readSettings<PipelineOwnSettings>(PIPELINE_OWN_SETTINGS, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...detector, ...own } as PipelineSettings);
}
