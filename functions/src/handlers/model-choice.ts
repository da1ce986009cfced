import type { Request } from '@google-cloud/functions-framework';
import { BadRequestError } from '../errors';

/** `?model=<name>` or the default model. */
export function chosenModel(req: Request, defaultModel: string): string {
  const value = req.query?.model;
  if (value === undefined) return defaultModel;
  if (typeof value !== 'string') throw new BadRequestError('invalid_model_name', 'give ?model= once, as a plain name');
  return value;
}
