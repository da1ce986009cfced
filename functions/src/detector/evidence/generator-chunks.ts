/**
 * Recognises the text that image generators write into their files, from the parsed text chunks
 * and comments (never from the raw bytes). Each rule needs both the generator's keyword and a body
 * of the shape that generator writes, so a short chunk that merely borrows a keyword (a 13-byte
 * `parameters` chunk, say) is reported as a text chunk and recognised as nothing.
 *
 * | generator | where | what is checked |
 * | --- | --- | --- |
 * | Stable Diffusion WebUI (AUTOMATIC1111, Forge) | PNG `parameters`, JPEG comment, EXIF UserComment | the settings line: `Steps: <n>` and `Sampler: ` |
 * | Fooocus | PNG `fooocus_scheme` beside `parameters` | `parameters` is a JSON object |
 * | ComfyUI | PNG `prompt` | a JSON object of nodes with `class_type` |
 * | ComfyUI | PNG `workflow` | a JSON object with a `nodes` array |
 * | InvokeAI | PNG `invokeai_metadata`, `invokeai_graph`, `sd-metadata`, `Dream` | a JSON object (`Dream`: a quoted prompt and `-s <steps>`) |
 * | NovelAI | PNG `Software` = `NovelAI` with a `Comment` | `Comment` is a JSON object with `steps` |
 */
import type { TextChunk } from './container-blocks';

export interface GeneratorMark {
  generator: 'stable-diffusion-webui' | 'fooocus' | 'comfyui' | 'invokeai' | 'novelai';
  /** Where it was found: "png:<keyword>", "jpeg:comment" or "exif:UserComment". */
  source: string;
  /** The model the text names (the WebUI's `Model: `, ComfyUI's checkpoint loader's `ckpt_name`), or null. */
  model: string | null;
}

const MAX_MODEL_CHARS = 128;
const SD_MODEL = /(?:^|, )Model: ([^,\n]{1,128})/;

function sdModel(text: string): string | null {
  for (const line of text.split('\n')) {
    if (!SD_SETTINGS.test(`\n${line}`)) continue;
    const match = SD_MODEL.exec(line);
    if (match !== null) return match[1]!.trim().slice(0, MAX_MODEL_CHARS);
  }
  return null;
}

/** The first checkpoint a ComfyUI prompt loads (a CheckpointLoader* node's `ckpt_name`). */
function comfyModel(text: string): string | null {
  const nodes = jsonObject(text);
  for (const node of Object.values(nodes ?? {})) {
    const fields = node as { class_type?: unknown; inputs?: { ckpt_name?: unknown } };
    if (typeof fields.class_type === 'string' && fields.class_type.startsWith('CheckpointLoader') && typeof fields.inputs?.ckpt_name === 'string') {
      return fields.inputs.ckpt_name.slice(0, MAX_MODEL_CHARS);
    }
  }
  return null;
}

const SD_SETTINGS = /(?:^|\n)[^\n]*\bSteps: \d+, [^\n]*\bSampler: /;

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isComfyPrompt(text: string): boolean {
  const nodes = jsonObject(text);
  if (nodes === null) return false;
  const values = Object.values(nodes);
  return (
    values.length > 0 && values.every((node) => typeof node === 'object' && node !== null && typeof (node as { class_type?: unknown }).class_type === 'string')
  );
}

export function recogniseGenerators(texts: readonly TextChunk[], comments: readonly string[], userComment: string | null = null): GeneratorMark[] {
  const marks: GeneratorMark[] = [];
  const add = (generator: GeneratorMark['generator'], source: string, model: string | null = null) => {
    if (!marks.some((mark) => mark.generator === generator && mark.source === source)) marks.push({ generator, source, model });
  };
  const byKeyword = new Map<string, TextChunk>();
  for (const chunk of texts) if (!byKeyword.has(chunk.keyword)) byKeyword.set(chunk.keyword, chunk);

  for (const chunk of texts) {
    const source = `png:${chunk.keyword}`;
    switch (chunk.keyword) {
      case 'parameters':
        if (SD_SETTINGS.test(chunk.text)) add('stable-diffusion-webui', source, sdModel(chunk.text));
        else if (byKeyword.has('fooocus_scheme') && jsonObject(chunk.text) !== null) add('fooocus', source);
        break;
      case 'prompt':
        if (isComfyPrompt(chunk.text)) add('comfyui', source, comfyModel(chunk.text));
        break;
      case 'workflow':
        if (Array.isArray(jsonObject(chunk.text)?.nodes)) add('comfyui', source);
        break;
      case 'invokeai_metadata':
      case 'invokeai_graph':
      case 'sd-metadata':
        if (jsonObject(chunk.text) !== null) add('invokeai', source);
        break;
      case 'Dream':
        if (/^".*" .*-s \d+/.test(chunk.text)) add('invokeai', source);
        break;
      case 'Comment':
        if (byKeyword.get('Software')?.text.trim() === 'NovelAI' && typeof jsonObject(chunk.text)?.steps === 'number') add('novelai', source);
        break;
    }
  }
  for (const comment of comments) if (SD_SETTINGS.test(comment)) add('stable-diffusion-webui', 'jpeg:comment', sdModel(comment));
  // The web UI writes its parameters to EXIF UserComment in JPEG and WebP.
  if (userComment !== null && SD_SETTINGS.test(userComment)) add('stable-diffusion-webui', 'exif:UserComment', sdModel(userComment));
  return marks;
}
