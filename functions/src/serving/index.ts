/**
 * Serving's surface for the commands beside the functions (the `detector` command, the OpenAPI
 * generator, deployment helpers): the service's settings and the answer it gives per image. The
 * functions themselves start from functions/src/index.ts.
 */
export { type Config, loadConfig, SETTINGS } from './config';
export { buildOpenApiDocument } from './api/openapi';
export { extrasOf, toVerdict, type Verdict } from './api/verdict-answer';
