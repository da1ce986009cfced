/**
 * The one way a model becomes servable, for the registry and for every pipeline step: its bytes
 * are checked against the sha256 it was published with (when one is given), an onnxruntime session
 * is created, and the session is checked against metadata.json (input and output names, the input
 * shape) before anything is scored with it.
 */
import { InternalError } from '../../platform/errors';
import { createHash } from 'node:crypto';
import type { Logger } from '../../platform/logger';
import type { ModelMetadata } from './model-metadata';
import { LoadedModel } from './loaded-model';
import type { InferenceEngine } from './onnx-session';

export type EngineFactory = (model: Uint8Array) => Promise<InferenceEngine>;

export interface LoadModelRequest {
  name: string;
  version: string;
  modelBytes: Uint8Array;
  metadata: ModelMetadata;
  /** The sha256 production.json (or the run folder) promises; the bytes must match it. */
  expectedSha256?: string;
  createEngine: EngineFactory;
  logger: Logger;
  loadedAt?: Date;
}

export class ModelMismatchError extends InternalError {
  constructor(
    readonly model: string,
    detail: string,
  ) {
    super('model_mismatch', `model ${model} cannot be served: ${detail}`);
  }
}

export async function loadModel(request: LoadModelRequest): Promise<LoadedModel> {
  const { name, version, metadata } = request;
  const label = `${name}@${version}`;
  if (metadata.name !== name) throw new ModelMismatchError(label, `metadata.json names model "${metadata.name}", not "${name}"`);
  const sha256 = createHash('sha256').update(request.modelBytes).digest('hex');
  if (request.expectedSha256 !== undefined && sha256 !== request.expectedSha256) {
    throw new ModelMismatchError(label, `model.onnx has sha256 ${sha256}; production.json expects ${request.expectedSha256}`);
  }
  const engine = await request.createEngine(request.modelBytes);
  try {
    checkEngineMatchesMetadata(engine, metadata);
  } catch (error) {
    await engine.release().catch(() => undefined);
    throw new ModelMismatchError(label, (error as Error).message);
  }
  return new LoadedModel(name, version, sha256, metadata, request.loadedAt ?? new Date(), engine, request.logger);
}

export function checkEngineMatchesMetadata(engine: Pick<InferenceEngine, 'inputNames' | 'outputNames' | 'inputDims'>, metadata: ModelMetadata): void {
  if (!engine.inputNames.includes(metadata.input.name)) {
    throw new Error(`metadata names input "${metadata.input.name}"; the model's inputs are ${engine.inputNames.join(', ')}`);
  }
  if (!engine.outputNames.includes(metadata.output.name)) {
    throw new Error(`metadata names output "${metadata.output.name}"; the model's outputs are ${engine.outputNames.join(', ')}`);
  }
  if (metadata.ood !== undefined && !engine.outputNames.includes(metadata.ood.output)) {
    throw new Error(`metadata.ood names output "${metadata.ood.output}"; the model's outputs are ${engine.outputNames.join(', ')}`);
  }
  if (metadata.patches !== undefined && (metadata.patches.size !== metadata.preprocessing.width || metadata.patches.size !== metadata.preprocessing.height)) {
    throw new Error(
      `metadata.patches.size is ${metadata.patches.size}; a patch model's input is size×size, not ${metadata.preprocessing.width}×${metadata.preprocessing.height}`,
    );
  }
  const dims = engine.inputDims(metadata.input.name);
  const want = [-1, 3, metadata.preprocessing.height, metadata.preprocessing.width];
  if (dims !== null && (dims.length !== 4 || dims.some((dim, i) => dim !== -1 && want[i] !== -1 && dim !== want[i]))) {
    throw new Error(`the model's input dims [${dims.join(', ')}] do not match metadata [${want.join(', ')}]`);
  }
}
