/**
 * A model ready to score: its metadata and onnxruntime session, with in-flight counting so that a
 * version swapped out by the registry is released only once its last request is done.
 */
import type { Logger } from '../../platform/logger';
import type { ModelMetadata } from './model-metadata';
import type { InferenceEngine, OutputTensor } from './onnx-session';
import { probabilitiesOfAi } from './scores';

export interface PatchOutputs {
  /** One logit of P(AI) per patch. */
  logits: Float32Array;
  /** [patches × D] embeddings, row-major; null when the model has no OOD statistics. */
  embeddings: Float32Array | null;
}

export class LoadedModel {
  private inFlight = 0;
  private retired = false;
  private released = false;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly sha256: string,
    readonly metadata: ModelMetadata,
    readonly loadedAt: Date,
    private readonly engine: InferenceEngine,
    private readonly logger: Logger,
  ) {}

  /** Runs one batch of `count` preprocessed images (NCHW float32) and returns P(AI) for each. */
  async predict(input: Float32Array, count: number): Promise<Float32Array> {
    const { output } = this.metadata;
    const result = (await this.run(input, count, [output.name]))[output.name]!;
    return probabilitiesOfAi(result.data, result.dims, output.activation, output.ai_index, count);
  }

  /**
   * Runs one batch of `count` patches of a patch model (metadata.patches; output activation
   * sigmoid): the logit of P(AI) for each patch and, where metadata.ood names one, its embedding.
   */
  async predictPatches(input: Float32Array, count: number): Promise<PatchOutputs> {
    const { output, ood } = this.metadata;
    if (output.activation !== 'sigmoid') throw new Error(`patch models give one logit per patch (activation sigmoid), not ${output.activation}`);
    const results = await this.run(input, count, ood === undefined ? [output.name] : [output.name, ood.output]);
    const logits = results[output.name]!;
    if (logits.dims[0] !== count || logits.data.length !== count) throw new Error(`model output has dims [${logits.dims.join(', ')}]; expected [${count}, 1]`);
    if (ood === undefined) return { logits: logits.data, embeddings: null };
    const embeddings = results[ood.output]!;
    if (embeddings.dims[0] !== count || embeddings.data.length !== count * ood.mean.length) {
      throw new Error(`embedding output has dims [${embeddings.dims.join(', ')}]; expected [${count}, ${ood.mean.length}]`);
    }
    return { logits: logits.data, embeddings: embeddings.data };
  }

  /** One session run of `count` inputs (NCHW float32), counted in flight so that a retired version is released only once idle. */
  private async run(input: Float32Array, count: number, outputNames: readonly string[]): Promise<Record<string, OutputTensor>> {
    if (this.released) throw new Error(`model ${this.name}@${this.version} was released`);
    const { preprocessing, input: inputSpec } = this.metadata;
    this.inFlight += 1;
    try {
      return await this.engine.run(inputSpec.name, input, [count, 3, preprocessing.height, preprocessing.width], outputNames);
    } finally {
      this.inFlight -= 1;
      if (this.retired && this.inFlight === 0) void this.release();
    }
  }

  /** Called when a newer version replaced this one: release once idle. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) void this.release();
  }

  get isReleased(): boolean {
    return this.released;
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.engine.release();
    } catch (error) {
      this.logger.warning('releasing a retired model session failed', { model: this.name, version: this.version, error });
    }
  }
}
