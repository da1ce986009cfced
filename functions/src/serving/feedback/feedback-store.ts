/**
 * Feedback in the dataset layout, so that the pipeline reads it like any dataset's train split:
 *
 *   <FEEDBACK_STORE>/<model>/train/REAL/<sha256>.<ext>      the image, under the label the client gave
 *   <FEEDBACK_STORE>/<model>/train/FAKE/<sha256>.<ext>
 *   <FEEDBACK_STORE>/<model>/records/<sha256>.json          who said what, when, about which prediction
 *
 * The record is written create-only, so one image is stored once whatever the number of reports
 * (deduplicated by sha256); the same image reported with the other label is a conflict, not an
 * overwrite. The image is written before its record, so a record always has its image.
 */
import { createHash } from 'node:crypto';
import { ConflictError } from '../../platform/errors';
import { type BlobStore, isBlobNotFound, isPreconditionFailed } from '../../platform/storage/blob-store';

export type FeedbackLabel = 'real' | 'ai_generated';

export const LABEL_FOLDERS: Readonly<Record<FeedbackLabel, 'REAL' | 'FAKE'>> = { real: 'REAL', ai_generated: 'FAKE' };

export interface FeedbackRecord {
  schema_version: 1;
  id: string;
  model: string;
  label: FeedbackLabel;
  image: string;
  format: string;
  bytes: number;
  note: string | null;
  /** The prediction it corrects, when the client named one (or it was found by request id). */
  request_id: string | null;
  predicted: { prediction: string; probability: number; version: string } | null;
  principal: string;
  received_at: string;
}

export interface FeedbackInput {
  model: string;
  label: FeedbackLabel;
  image: Buffer;
  /** jpeg, png, webp or avif, from the image's header. */
  format: string;
  note: string | null;
  requestId: string | null;
  predicted: FeedbackRecord['predicted'];
  principal: string;
  now: Date;
}

export interface StoredFeedback {
  id: string;
  duplicate: boolean;
  record: FeedbackRecord;
}

const EXTENSIONS: Readonly<Record<string, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif' };

export function feedbackKeys(model: string, sha256: string, label: FeedbackLabel, format: string): { image: string; record: string } {
  return { image: `${model}/train/${LABEL_FOLDERS[label]}/${sha256}.${EXTENSIONS[format] ?? format}`, record: `${model}/records/${sha256}.json` };
}

export async function storeFeedback(store: BlobStore, input: FeedbackInput): Promise<StoredFeedback> {
  const id = createHash('sha256').update(input.image).digest('hex');
  const keys = feedbackKeys(input.model, id, input.label, input.format);
  const existing = await readRecord(store, keys.record);
  if (existing !== null) return answerExisting(existing, input.label);
  const record: FeedbackRecord = {
    schema_version: 1,
    id,
    model: input.model,
    label: input.label,
    image: keys.image,
    format: input.format,
    bytes: input.image.length,
    note: input.note,
    request_id: input.requestId,
    predicted: input.predicted,
    principal: input.principal,
    received_at: input.now.toISOString(),
  };
  await store.write(keys.image, input.image, { contentType: `image/${input.format}` });
  try {
    await store.write(keys.record, `${JSON.stringify(record, null, 2)}\n`, { ifGenerationMatch: '0', contentType: 'application/json' });
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    // Another request stored the same image in between: its record stands.
    const winner = await readRecord(store, keys.record);
    if (winner === null) throw error;
    return answerExisting(winner, input.label);
  }
  return { id, duplicate: false, record };
}

function answerExisting(record: FeedbackRecord, label: FeedbackLabel): StoredFeedback {
  if (record.label !== label) {
    throw new ConflictError(
      'feedback_conflict',
      `this image (sha256 ${record.id}) is already in the feedback as ${record.label}; feedback never relabels an image, a person reviewing ${record.image} does`,
    );
  }
  return { id: record.id, duplicate: true, record };
}

async function readRecord(store: BlobStore, key: string): Promise<FeedbackRecord | null> {
  try {
    return JSON.parse((await store.read(key)).toString('utf8')) as FeedbackRecord;
  } catch (error) {
    if (isBlobNotFound(error)) return null;
    throw error;
  }
}
