import type { Request } from '@google-cloud/functions-framework';
import { BadRequestError } from '../../platform/errors';
import { MODEL_NAME_PATTERN } from '../../platform/settings';

/** `?model=<name>` when the request names a model (given once, a valid model name), else null. */
export function requestedModel(req: Pick<Request, 'query'>): string | null {
  const value: unknown = req.query?.model;
  if (value === undefined) return null;
  if (typeof value !== 'string' || !MODEL_NAME_PATTERN.test(value)) {
    throw new BadRequestError('invalid_model_name', "give ?model= once, as a model name (lower-case letters, digits, '-' and '_')");
  }
  return value;
}

/** `?model=<name>` or the default model. */
export function chosenModel(req: Pick<Request, 'query'>, defaultModel: string): string {
  return requestedModel(req) ?? defaultModel;
}
