/**
 * Entry point of every deployed function: reads the configuration once per instance (cold start)
 * and registers `predict`, `batch`, `health` and `drift` (plus `app`, the local router).
 * Deploy each with `--entry-point=<name>`.
 */
import { loadConfig } from './config';
import { buildService, registerFunctions } from './app';

registerFunctions(buildService(loadConfig(process.env)));
