/**
 * The Vertex AI custom job that runs one training stage (pure): a single GPU worker pool running the
 * CUDA training image's `python3 -m training.train`, which reads the dataset and writes its run
 * folder through the Cloud Storage FUSE mount Vertex AI gives every job (gs://bucket/x is
 * /gcs/bucket/x inside the container). The shape is the client library's v1 ICustomJob: the REST
 * API's camelCase field names, enums by name, a Duration as {seconds}.
 */
import type { RecipeCompute } from '../recipe';

export interface VertexSettings {
  project: string;
  region: string;
  /** gs://bucket/prefix under which each run gets <run id>/<stage>/. */
  staging: string;
  /** The CUDA training image, e.g. europe-west1-docker.pkg.dev/p/detector-training/training-cuda:abc. */
  image: string;
  /** Service account the job runs as; null: Vertex AI's default (the project's Custom Code Service Agent). */
  serviceAccount: string | null;
  /** Worker pool; null fields come from the recipe's compute, then from DEFAULT_COMPUTE. */
  compute: Partial<RecipeCompute>;
  /** Longest the job may run, in seconds. */
  timeoutSeconds: number;
}

/** One L4 on a g2-standard-8 (8 vCPUs, 32 GB): the cheapest current GPU machine that suits these models. */
export const DEFAULT_COMPUTE: Readonly<Required<RecipeCompute>> = Object.freeze({
  machine_type: 'g2-standard-8',
  accelerator_type: 'NVIDIA_L4',
  accelerator_count: 1,
});

export interface CustomJobRequest {
  displayName: string;
  labels: Record<string, string>;
  jobSpec: {
    workerPoolSpecs: Array<{
      machineSpec: { machineType: string; acceleratorType?: string; acceleratorCount?: number };
      replicaCount: number;
      diskSpec: { bootDiskType: string; bootDiskSizeGb: number };
      containerSpec: { imageUri: string; command: string[]; args: string[]; env: Array<{ name: string; value: string }> };
    }>;
    serviceAccount?: string;
    baseOutputDirectory: { outputUriPrefix: string };
    scheduling: { timeout: { seconds: number }; restartJobOnWorkerRestart: boolean };
  };
}

export interface CustomJobInput {
  settings: VertexSettings;
  recipeCompute: RecipeCompute | null;
  model: string;
  stage: 'pretrain' | 'train';
  runId: string;
  /** The trainer's arguments as the container sees them (/gcs/… paths). */
  args: string[];
  /** gs:// folder of this stage: the job's base output directory. */
  stageUri: string;
}

/** gs://bucket/a/b → /gcs/bucket/a/b, where Vertex AI mounts Cloud Storage in a custom job. */
export function fusePath(uri: string): string {
  const match = /^gs:\/\/([^/]+)(\/.*)?$/i.exec(uri);
  if (match === null) throw new TypeError(`not a gs:// URI: ${JSON.stringify(uri)}`);
  return `/gcs/${match[1]}${(match[2] ?? '').replace(/\/+$/, '')}`;
}

/** The worker pool: flags first, then the recipe, then DEFAULT_COMPUTE (a machine type without a GPU named keeps none). */
export function resolveCompute(flags: Partial<RecipeCompute>, recipe: RecipeCompute | null): RecipeCompute {
  const machineType = flags.machine_type ?? recipe?.machine_type ?? DEFAULT_COMPUTE.machine_type;
  const fromDefaults = flags.machine_type === undefined && recipe === null;
  const acceleratorType = flags.accelerator_type ?? recipe?.accelerator_type ?? (fromDefaults ? DEFAULT_COMPUTE.accelerator_type : undefined);
  const acceleratorCount = flags.accelerator_count ?? recipe?.accelerator_count ?? (acceleratorType === undefined ? undefined : 1);
  return {
    machine_type: machineType,
    ...(acceleratorType === undefined ? {} : { accelerator_type: acceleratorType }),
    ...(acceleratorCount === undefined || acceleratorType === undefined ? {} : { accelerator_count: acceleratorCount }),
  };
}

const LABEL = (value: string): string =>
  value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);

export function buildCustomJobRequest(input: CustomJobInput): CustomJobRequest {
  const { settings } = input;
  const compute = resolveCompute(settings.compute, input.recipeCompute);
  const gpu = compute.accelerator_type !== undefined;
  return {
    displayName: `detector-${input.model}-${input.stage}-${input.runId}`.slice(0, 128),
    labels: { app: 'ai-product-photo-detector', model: LABEL(input.model), stage: input.stage, run: LABEL(input.runId) },
    jobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: {
            machineType: compute.machine_type,
            ...(gpu ? { acceleratorType: compute.accelerator_type as string, acceleratorCount: compute.accelerator_count ?? 1 } : {}),
          },
          replicaCount: 1,
          diskSpec: { bootDiskType: 'pd-ssd', bootDiskSizeGb: 100 },
          containerSpec: {
            imageUri: settings.image,
            command: ['python3'],
            args: [...input.args, '--device', gpu ? 'cuda' : 'cpu'],
            env: [{ name: 'PYTHONUNBUFFERED', value: '1' }],
          },
        },
      ],
      ...(settings.serviceAccount === null ? {} : { serviceAccount: settings.serviceAccount }),
      baseOutputDirectory: { outputUriPrefix: `${input.stageUri.replace(/\/+$/, '')}/` },
      scheduling: { timeout: { seconds: settings.timeoutSeconds }, restartJobOnWorkerRestart: false },
    },
  };
}
