/**
 * Names the generator of an image where its evidence states one, and says where the name came
 * from; null otherwise. Never from pixels: a detector score says "generated", not by what.
 *
 * In order, the first that applies:
 * 1. c2pa: an intact manifest (valid or untrusted) whose actions declare a generative source: the
 *    softwareAgent of the generative action (e.g. "gpt-image pre-2.0"), else the claim generator;
 *    the vendor is the signing certificate's organisation (trusted or not, it is what the
 *    certificate says; `evidence.c2pa.validation` says whether anyone vouches for it).
 * 2. text chunks: a generator's own chunk or comment (generator-chunks.ts), with the model it names.
 * 3. xmp: a generative DigitalSourceType beside xmp:CreatorTool: the tool.
 * 4. iptc: a generative DigitalSourceType in XMP beside IPTC IIM's OriginatingProgram (and version).
 * 5. watermark: a known invisible watermark, whose fixed message names the model family (the mark
 *    is the generator's own statement in its samples, not a detector's inference).
 */
import type { GeneratorMark } from './generator-chunks';
import type { WatermarkResult } from './invisible-watermark';
import type { ManifestAction, ManifestOrigin, SignerSummary } from './manifest-reader';

export interface GeneratorName {
  name: string;
  /** The model, where the evidence names one apart from the tool. */
  model: string | null;
  vendor: string | null;
  /** c2pa, png:<keyword>, jpeg:comment, xmp:CreatorTool or iptc:OriginatingProgram. */
  source: string;
}

const TOOL_NAMES: Readonly<Record<GeneratorMark['generator'], string>> = {
  'stable-diffusion-webui': 'Stable Diffusion web UI',
  fooocus: 'Fooocus',
  comfyui: 'ComfyUI',
  invokeai: 'InvokeAI',
  novelai: 'NovelAI',
};

export interface GeneratorEvidence {
  c2pa: {
    validation: string | null;
    origin: ManifestOrigin | null;
    actions: readonly ManifestAction[];
    claim_generator: string | null;
    signer: SignerSummary | null;
  };
  generators: readonly GeneratorMark[];
  xmp: { digital_source_type: string | null; creator_tool: string | null };
  iptc?: { originating_program: string | null; program_version: string | null };
  watermark?: WatermarkResult | null;
}

const WATERMARK_NAMES: Readonly<Record<WatermarkResult['message'], string>> = { StableDiffusionV1: 'Stable Diffusion v1', SDXL: 'Stable Diffusion XL' };

const GENERATIVE = ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia'];

export function nameGenerator(evidence: GeneratorEvidence): GeneratorName | null {
  const c2pa = evidence.c2pa;
  const intact = c2pa.validation === 'valid' || c2pa.validation === 'untrusted';
  if (intact && (c2pa.origin === 'generated' || c2pa.origin === 'partly_generated')) {
    const action = c2pa.actions.find(
      (entry) => entry.digital_source_type !== null && GENERATIVE.includes(entry.digital_source_type) && entry.software_agent !== null,
    );
    const name = action?.software_agent ?? c2pa.claim_generator;
    if (name !== null && name !== undefined) return { name, model: null, vendor: c2pa.signer?.organization ?? null, source: 'c2pa' };
  }
  const chunk = evidence.generators[0];
  if (chunk !== undefined) return { name: TOOL_NAMES[chunk.generator], model: chunk.model, vendor: null, source: chunk.source };
  const xmp = evidence.xmp;
  if (xmp.digital_source_type !== null && GENERATIVE.includes(xmp.digital_source_type) && xmp.creator_tool !== null) {
    return { name: xmp.creator_tool, model: null, vendor: null, source: 'xmp:CreatorTool' };
  }
  const iptc = evidence.iptc;
  if (iptc !== undefined && iptc.originating_program !== null && xmp.digital_source_type !== null && GENERATIVE.includes(xmp.digital_source_type)) {
    const name = iptc.program_version === null ? iptc.originating_program : `${iptc.originating_program} ${iptc.program_version}`;
    return { name, model: null, vendor: null, source: 'iptc:OriginatingProgram' };
  }
  const mark = evidence.watermark;
  if (mark?.matched === true) return { name: WATERMARK_NAMES[mark.message], model: null, vendor: null, source: 'watermark:dwtDct' };
  return null;
}
