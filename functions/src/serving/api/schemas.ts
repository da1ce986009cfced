/**
 * JSON Schemas of the request and response bodies. The same objects validate requests (ajv) and
 * build the OpenAPI 3.1 document served at GET /openapi.json, so the two cannot drift apart.
 */
const imageField = {
  type: 'string',
  minLength: 1,
  description: 'The image file, base64-encoded (standard or URL-safe alphabet; a data: URL prefix is accepted).',
} as const;

const uriField = {
  type: 'string',
  pattern: '^gs://',
  description: 'gs://bucket/object of an image in a bucket listed in ALLOWED_BUCKETS.',
} as const;

export const predictJsonRequestSchema = {
  $id: 'PredictJsonRequest',
  type: 'object',
  oneOf: [
    { required: ['image'], properties: { image: imageField }, not: { required: ['uri'] } },
    { required: ['uri'], properties: { uri: uriField }, not: { required: ['image'] } },
  ],
  additionalProperties: false,
  properties: { image: imageField, uri: uriField },
} as const;

export const batchItemSchema = {
  $id: 'BatchItem',
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200, description: 'Echoed back in the result; defaults to the item index.' },
    image: imageField,
    uri: uriField,
  },
  oneOf: [
    { required: ['image'], not: { required: ['uri'] } },
    { required: ['uri'], not: { required: ['image'] } },
  ],
  additionalProperties: false,
} as const;

export const batchJsonRequestSchema = {
  $id: 'BatchJsonRequest',
  type: 'object',
  required: ['images'],
  properties: {
    images: { type: 'array', items: { type: 'object' }, description: 'Up to MAX_BATCH_ITEMS items (default 20), each a BatchItem.' },
  },
  additionalProperties: false,
} as const;

const errorBody = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable machine-readable code, e.g. too_many_pixels.' },
    message: { type: 'string', description: 'What was wrong and what would be right.' },
    request_id: { type: 'string' },
  },
} as const;

export const errorResponseSchema = {
  $id: 'ErrorResponse',
  type: 'object',
  required: ['error'],
  properties: { error: errorBody },
} as const;

const modelRef = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: { type: 'string' }, version: { type: 'string' } },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

const signerSchema = {
  type: ['object', 'null'],
  required: ['organization', 'common_name', 'issuer_organization', 'issuer_common_name', 'not_before', 'not_after', 'algorithm', 'timestamp'],
  properties: {
    organization: nullableString,
    common_name: nullableString,
    issuer_organization: nullableString,
    issuer_common_name: nullableString,
    not_before: nullableString,
    not_after: nullableString,
    algorithm: nullableString,
    timestamp: { ...nullableString, description: 'Time of the trusted time-stamp on the signature, when there is one.' },
  },
} as const;

const generatorSchema = {
  type: ['object', 'null'],
  description:
    'The generator the evidence names (C2PA softwareAgent or claim generator with the signer as vendor, a generator text chunk, XMP CreatorTool beside a generative source type), and where; null where it names none. Never from the pixels.',
  required: ['name', 'model', 'vendor', 'source'],
  properties: {
    name: { type: 'string' },
    model: nullableString,
    vendor: nullableString,
    source: {
      type: 'string',
      description: 'c2pa, png:<keyword>, jpeg:comment, exif:UserComment, xmp:CreatorTool, iptc:OriginatingProgram or watermark:dwtDct',
    },
  },
} as const;

const evidenceSchema = {
  type: 'object',
  description:
    'What the file says about itself, read by container structure (JPEG segments, PNG chunks, WebP RIFF chunks, AVIF boxes). Reported as found; verdict_reasons say what it was worth.',
  required: ['c2pa', 'xmp', 'exif', 'iptc', 'generators', 'text_chunks', 'comments', 'limits_hit', 'watermark'],
  properties: {
    c2pa: {
      type: 'object',
      required: ['present', 'validation', 'codes', 'claim_generator', 'digital_source_types', 'trust_list', 'signer', 'manifests', 'actions', 'origin'],
      properties: {
        present: { type: 'boolean' },
        validation: {
          enum: ['valid', 'untrusted', 'invalid', 'unverified', null],
          description:
            "Of the active manifest. valid: signature and hash bindings intact, signer chains to the service's trust material (trust_list); untrusted: intact, signer on no trust list; invalid: tampered, forged or malformed; unverified: not checked (e.g. manifest.tooLarge); null: no manifest.",
        },
        codes: { type: 'array', items: { type: 'string' }, description: 'C2PA validation status codes, e.g. assertion.dataHash.mismatch.' },
        claim_generator: nullableString,
        digital_source_types: {
          type: 'array',
          items: { type: 'string' },
          description: 'IPTC digital source types of the active manifest, e.g. trainedAlgorithmicMedia.',
        },
        trust_list: {
          ...nullableString,
          description: 'Version of the trust material the signers were checked against (trust.json); null when none was loaded.',
        },
        signer: {
          ...signerSchema,
          description: 'The signing certificate of the active manifest and the authority that issued it; null without a readable manifest.',
        },
        manifests: {
          type: 'array',
          maxItems: 8,
          description: 'Every manifest of the store, the active one first, each validated on its own.',
          items: {
            type: 'object',
            required: ['label', 'active', 'validation', 'codes', 'claim_generator', 'signer', 'digital_source_types'],
            properties: {
              label: { type: 'string' },
              active: { type: 'boolean' },
              validation: { enum: ['valid', 'untrusted', 'invalid'] },
              codes: { type: 'array', items: { type: 'string' }, description: 'Failure codes of this manifest.' },
              claim_generator: nullableString,
              signer: signerSchema,
              digital_source_types: { type: 'array', items: { type: 'string' } },
            },
          },
        },
        actions: {
          type: 'array',
          maxItems: 16,
          description: 'Actions of the active manifest, in order.',
          items: {
            type: 'object',
            required: ['action', 'digital_source_type', 'software_agent'],
            properties: { action: { type: 'string' }, digital_source_type: nullableString, software_agent: nullableString },
          },
        },
        origin: {
          enum: ['capture', 'generated', 'partly_generated', 'other', null],
          description:
            'What the manifests declare: capture (digitalCapture, no generative step), generated (trainedAlgorithmicMedia), partly_generated (a generative edit or composite, or a generated ingredient), other; null without a readable manifest.',
        },
      },
    },
    xmp: { type: 'object', properties: { digital_source_type: nullableString, creator_tool: nullableString } },
    exif: {
      type: 'object',
      properties: {
        make: nullableString,
        model: nullableString,
        software: nullableString,
        user_comment: { ...nullableString, description: 'UserComment of the Exif directory, its first 200 characters.' },
      },
      description: 'Reported, never trusted.',
    },
    iptc: {
      type: 'object',
      description: "IPTC IIM of a JPEG's Photoshop resources (APP13): the program that made the image.",
      properties: { originating_program: nullableString, program_version: nullableString },
    },
    generators: {
      type: 'array',
      items: {
        type: 'object',
        required: ['generator', 'source', 'model'],
        properties: {
          generator: { enum: ['stable-diffusion-webui', 'fooocus', 'comfyui', 'invokeai', 'novelai'] },
          source: { type: 'string', description: 'png:<keyword>, jpeg:comment or exif:UserComment' },
          model: { ...nullableString, description: "The model the text names (the WebUI's Model:, ComfyUI's ckpt_name)." },
        },
      },
    },
    text_chunks: { type: 'object', properties: { count: { type: 'integer' }, keywords: { type: 'array', items: { type: 'string' } } } },
    comments: { type: 'array', items: { type: 'string' } },
    limits_hit: {
      type: 'array',
      items: { type: 'string' },
      description: 'Bounds reached while reading (text_chunks, manifest_bytes, truncated_container, watermark_pixels, …).',
    },
    watermark: {
      type: ['object', 'null'],
      description:
        "The invisible-watermark dwtDct check of the stored pixels (Stable Diffusion v1's 'StableDiffusionV1' bytes, SDXL's 48-bit message): the closest known message and whether it matched; null where not run (over 2048×2048 pixels, too small, or no pixel decoder).",
      required: ['method', 'message', 'bits', 'bit_errors', 'matched', 'reading'],
      properties: {
        method: { const: 'invisible-watermark dwtDct' },
        message: { enum: ['StableDiffusionV1', 'SDXL'] },
        bits: { type: 'string', pattern: '^[01]+$', description: "The bits decoded for that message's length." },
        bit_errors: { type: 'integer', minimum: 0 },
        matched: { type: 'boolean' },
        reading: { enum: ['bgr-uint8', 'bgr-float', 'rgb-uint8', 'rgb-float'], description: 'How the encoder saw the pixels (channel order, sample type).' },
      },
    },
  },
} as const;

const predictionFields = {
  prediction: { enum: ['ai_generated', 'real'], description: 'The pixel probability against the threshold, unchanged for existing clients.' },
  verdict: {
    enum: ['ai_generated', 'real', 'uncertain'],
    description:
      "The decision policy (docs/provenance.md, rule by rule): C2PA generative claims, then generator metadata and watermarks, then a trusted signed capture (real), then the pixels: uncertain between the model's thresholds, when patches disagree or out of distribution.",
  },
  decided_by: { enum: ['c2pa', 'metadata', 'watermark', 'pixels'] },
  verdict_reasons: { type: 'array', items: { type: 'string' }, description: 'What the policy considered, in words.' },
  evidence: evidenceSchema,
  generator: generatorSchema,
  probability: { type: 'number', minimum: 0, maximum: 1, description: 'P(AI-generated), 4 decimal places.' },
  confidence: {
    enum: ['low', 'medium', 'high'],
    description:
      'How far the verdict can be relied on: low whenever the verdict is uncertain, high when C2PA or metadata decided it, else the distance of probability from the threshold; see docs/api.md.',
  },
  threshold: { type: 'number' },
  model: modelRef,
  image: {
    type: 'object',
    required: ['width', 'height', 'format', 'bytes'],
    properties: {
      width: { type: 'integer' },
      height: { type: 'integer' },
      format: { enum: ['jpeg', 'png', 'webp', 'avif'] },
      bytes: { type: 'integer' },
      animated: { type: 'boolean', description: 'Present and true when only the first frame of an animation was scored.' },
    },
  },
  timing_ms: {
    type: 'object',
    required: ['decode', 'inference', 'total'],
    properties: { decode: { type: 'number' }, inference: { type: 'number' }, total: { type: 'number' } },
  },
  patches: {
    type: 'object',
    description: 'Patch models (general): the image is scored at native resolution in patches whose logits are averaged into `probability`.',
    required: ['scored', 'logit_std'],
    properties: {
      scored: { type: 'integer', minimum: 1, description: 'How many patches were scored.' },
      logit_std: { type: 'number', minimum: 0, description: 'Standard deviation of the patch logits: how much the patches disagree.' },
    },
  },
  out_of_distribution: {
    type: 'object',
    description:
      "Models with out-of-distribution statistics: the Mahalanobis distance of the image's pooled patch embedding from the training images, and whether it passes the model version's threshold (such an image is unlike anything the model was trained on, so its probability deserves little trust).",
    required: ['score', 'threshold', 'flagged'],
    properties: { score: { type: 'number', minimum: 0 }, threshold: { type: 'number' }, flagged: { type: 'boolean' } },
  },
} as const;

export const predictResponseSchema = {
  $id: 'PredictResponse',
  type: 'object',
  required: [
    'prediction',
    'verdict',
    'decided_by',
    'verdict_reasons',
    'probability',
    'confidence',
    'threshold',
    'model',
    'image',
    'timing_ms',
    'evidence',
    'generator',
    'request_id',
  ],
  properties: { ...predictionFields, request_id: { type: 'string' } },
} as const;

const boxSchema = {
  type: 'object',
  required: ['x', 'y', 'width', 'height'],
  description: 'Pixels of the image as displayed (after EXIF orientation).',
  properties: { x: { type: 'integer' }, y: { type: 'integer' }, width: { type: 'integer' }, height: { type: 'integer' } },
} as const;

export const explainResponseSchema = {
  $id: 'ExplainResponse',
  type: 'object',
  required: [...predictResponseSchema.required, 'explanation', 'heatmap', 'heatmap_png'],
  properties: {
    ...predictResponseSchema.properties,
    timing_ms: {
      type: 'object',
      required: ['decode', 'inference', 'explain_inference', 'total'],
      properties: {
        decode: { type: 'number' },
        inference: { type: 'number' },
        explain_inference: { type: 'number', description: 'The occlusion variants’ inference call (0 for patch models).' },
        total: { type: 'number' },
      },
    },
    explanation: {
      type: 'object',
      required: ['method', 'rows', 'cols', 'cells'],
      properties: {
        method: {
          enum: ['patches', 'occlusion'],
          description: "patches: the detector's own patch scores; occlusion: each cell of the model input greyed out in turn (whole-image models).",
        },
        rows: { type: 'integer' },
        cols: { type: 'integer' },
        cells: {
          type: 'array',
          items: {
            type: 'object',
            required: ['row', 'col', 'box', 'probability', 'weight'],
            properties: {
              row: { type: 'integer' },
              col: { type: 'integer' },
              box: boxSchema,
              probability: { type: 'number', description: 'patches: P(AI) of the patch; occlusion: P(AI) of the image with this cell greyed out.' },
              drop: { type: 'number', description: 'occlusion: P(AI) of the image minus probability; positive where the cell looks generated.' },
              weight: { type: 'number', minimum: 0, maximum: 1, description: 'How strongly the heatmap marks the cell.' },
            },
          },
        },
      },
    },
    heatmap: {
      type: 'object',
      required: ['width', 'height', 'format'],
      properties: { width: { type: 'integer', maximum: 512 }, height: { type: 'integer', maximum: 512 }, format: { const: 'png' } },
    },
    heatmap_png: {
      type: 'string',
      contentEncoding: 'base64',
      description: 'The image tinted red where it looks generated, dimmed outside the scored area; at most 512 px on its long side.',
    },
  },
} as const;

export const batchResponseSchema = {
  $id: 'BatchResponse',
  type: 'object',
  required: ['results', 'total', 'succeeded', 'failed', 'model', 'timing_ms', 'request_id'],
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          filename: { type: 'string' },
          ...predictionFields,
          error: errorBody,
        },
      },
    },
    total: { type: 'integer' },
    succeeded: { type: 'integer' },
    failed: { type: 'integer' },
    model: modelRef,
    timing_ms: { type: 'object', properties: { decode: { type: 'number' }, inference: { type: 'number' }, total: { type: 'number' } } },
    request_id: { type: 'string' },
  },
} as const;

export const healthResponseSchema = {
  $id: 'HealthResponse',
  type: 'object',
  required: ['status', 'version', 'uptime_s', 'models'],
  properties: {
    status: {
      enum: ['ok', 'degraded', 'unavailable'],
      description:
        'degraded: the instance is up but a part is failing (the default model cannot serve, or telemetry cannot be written): degraded lists each part, reason joins their reasons; unavailable: the deep check failed.',
    },
    reason: { type: 'string', description: 'Why the status is degraded, and how to fix it.' },
    version: { type: 'string', description: 'Package version.' },
    uptime_s: { type: 'number' },
    default_model: { type: 'string' },
    decoder: { type: 'string' },
    models: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          loaded: { type: 'boolean' },
          version: { type: ['string', 'null'] },
          sha256: { type: ['string', 'null'] },
          loaded_at: { type: ['string', 'null'] },
          last_error: { type: ['string', 'null'] },
          last_error_at: { type: ['string', 'null'] },
        },
      },
    },
    warmup_ms: { type: 'number' },
    degraded: {
      type: 'array',
      description: 'What is failing while status is degraded.',
      items: {
        type: 'object',
        required: ['component', 'reason'],
        properties: {
          component: { enum: ['telemetry'] },
          reason: { type: 'string' },
          failing_since: { type: 'string' },
          consecutive_failures: { type: 'integer' },
          next_attempt_in_s: { type: 'number' },
          records_held: { type: 'integer' },
        },
      },
    },
  },
} as const;

/** POST /feedback as JSON: the image (or the request id of a recent prediction), the right label, a note. */
export const feedbackJsonRequestSchema = {
  $id: 'FeedbackJsonRequest',
  type: 'object',
  required: ['label'],
  properties: {
    label: { enum: ['real', 'ai_generated'], description: 'What the image really is.' },
    note: { type: 'string', maxLength: 1000, description: 'Free text for whoever reviews the feedback (at most 1000 characters).' },
    image: imageField,
    uri: uriField,
    request_id: {
      type: 'string',
      pattern: '^[A-Za-z0-9._:-]{1,128}$',
      description: 'The request_id of a recent /predict answer from the same instance, instead of the image.',
    },
  },
  oneOf: [{ required: ['image'] }, { required: ['uri'] }, { required: ['request_id'] }],
  additionalProperties: false,
} as const;

export const feedbackResponseSchema = {
  $id: 'FeedbackResponse',
  type: 'object',
  required: ['id', 'duplicate', 'model', 'label', 'request_id'],
  properties: {
    id: { type: 'string', description: "The stored image's sha256: the same image always gets the same id." },
    duplicate: { type: 'boolean', description: 'true when this image was already in the feedback with this label (nothing new was stored).' },
    model: { type: 'string' },
    label: { enum: ['real', 'ai_generated'] },
    request_id: { type: 'string', description: 'This request.' },
  },
  additionalProperties: false,
} as const;
