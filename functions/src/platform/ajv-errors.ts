import type { ErrorObject } from 'ajv';

/** The first few schema errors in words (a message stays short however many there are). */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, shown = 3): string {
  const all = errors ?? [];
  const words = all
    .slice(0, shown)
    .map((error) => `${error.instancePath === '' ? '(root)' : error.instancePath.slice(0, 80)} ${error.message ?? 'is invalid'}`)
    .join('; ');
  return all.length > shown ? `${words}; and ${all.length - shown} more` : words;
}
