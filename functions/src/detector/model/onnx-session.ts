/**
 * The only importer of onnxruntime-node. Creates a CPU session with explicit options and runs
 * float32 NCHW batches, checking inputs against the session's own names and dimensions first.
 */
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  intraOpNumThreads: number;
}

export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface InferenceEngine {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Input dims as declared by the model; symbolic or unknown dims are -1. */
  inputDims(name: string): readonly number[] | null;
  /** Runs one batch; returns each named output's data and dims (all from one session run). */
  run(inputName: string, data: Float32Array, dims: readonly number[], outputNames: readonly string[]): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

export async function createOnnxEngine(model: Uint8Array, options: SessionOptions): Promise<InferenceEngine> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
  });
  return new OnnxEngine(session);
}

class OnnxEngine implements InferenceEngine {
  constructor(private readonly session: ort.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  inputDims(name: string): readonly number[] | null {
    const meta = this.session.inputMetadata?.find((item) => item.name === name);
    if (meta === undefined || !meta.isTensor) return null;
    return meta.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : -1));
  }

  async run(inputName: string, data: Float32Array, dims: readonly number[], outputNames: readonly string[]): Promise<Record<string, OutputTensor>> {
    if (!this.session.inputNames.includes(inputName)) {
      throw new TypeError(`model has no input named "${inputName}"; its inputs are ${this.session.inputNames.join(', ')}`);
    }
    const expected = this.inputDims(inputName);
    if (expected !== null) {
      if (expected.length !== dims.length || expected.some((dim, i) => dim !== -1 && dim !== dims[i])) {
        throw new TypeError(`input "${inputName}" has dims [${dims.join(', ')}]; the model expects [${expected.join(', ')}] (-1: any)`);
      }
    }
    const size = dims.reduce((product, dim) => product * dim, 1);
    if (size !== data.length) throw new TypeError(`input data has ${data.length} values; dims [${dims.join(', ')}] need ${size}`);
    const results = await this.session.run({ [inputName]: new ort.Tensor('float32', data, dims) }, [...outputNames]);
    const outputs: Record<string, OutputTensor> = {};
    for (const outputName of outputNames) {
      const output = results[outputName];
      if (output === undefined) throw new Error(`model produced no output named "${outputName}"`);
      if (output.type !== 'float32') throw new Error(`output "${outputName}" is ${output.type}; expected float32`);
      outputs[outputName] = { data: output.data as Float32Array, dims: output.dims };
    }
    return outputs;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
