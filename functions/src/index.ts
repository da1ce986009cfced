/**
 * Entry point of every deployed function: reads the configuration once per instance (cold start)
 * and registers `predict`, `batch`, `health` and `drift` (plus `app`, the local router).
 * Deploy each with `--entry-point=<name>`.
 *
 * Shutdown (SIGTERM, which Cloud Functions sends before stopping an instance) is one sequence:
 * stop accepting connections, let in-flight requests finish, flush telemetry and metrics, exit.
 */
import { loadConfig } from './config';
import { buildService, registerFunctions, type Service, shutDown } from './app';
import { installSigtermFlush } from './telemetry/telemetry-buffer';

/** Cloud Run gives an instance 10 s after SIGTERM: most of it for requests, the rest for the flush. */
const DRAIN_MS = 6000;
const SHUTDOWN_MS = 9000;

function start(): Service {
  try {
    return buildService(loadConfig(process.env));
  } catch (error) {
    // Say what is wrong and stop here, before the framework reports a failed load as a "syntax error".
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${JSON.stringify({ severity: 'CRITICAL', message: `the service cannot start: ${message}` })}\n`);
    process.exit(78);
  }
}

const service = start();
registerFunctions(service);
installSigtermFlush({ flush: () => shutDown(service, DRAIN_MS) }, { logger: service.logger, timeoutMs: SHUTDOWN_MS });
