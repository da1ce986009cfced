/**
 * Entry point of every deployed function: reads the configuration once per instance (cold start)
 * and registers `predict`, `batch`, `health` and `drift` (plus `app`, the local router).
 * Deploy each with `--entry-point=<name>`.
 */
import { loadConfig } from './config';
import { buildService, registerFunctions } from './app';
import { installSigtermFlush } from './telemetry/telemetry-buffer';

const service = buildService(loadConfig(process.env));
registerFunctions(service);
// Cloud Functions sends SIGTERM before stopping an instance: write buffered telemetry first.
installSigtermFlush({ flush: () => service.observer.flushAll() }, { logger: service.logger });
