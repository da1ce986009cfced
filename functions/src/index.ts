/**
 * Entry point of every deployed function: reads the configuration once per instance (cold start)
 * and registers `predict`, `batch`, `health` and `drift` (plus `app`, the local router).
 * Deploy each with `--entry-point=<name>`.
 *
 * Shutdown (SIGTERM, which Cloud Functions sends before stopping an instance) is one sequence
 * (`shutDown` in app.ts), all within SHUTDOWN_GRACE_MS: stop accepting connections, flush
 * telemetry, let in-flight requests finish, answer what is left 503 shutting_down, flush again, exit.
 */
import { loadConfig } from './serving/config';
import { buildService, registerFunctions, type Service, shutDown } from './serving/app';
import { installSigtermFlush } from './serving/http/framework-hooks';

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
const graceMs = service.config.shutdownGraceMs;
installSigtermFlush({ flush: () => shutDown(service, graceMs) }, { logger: service.logger, timeoutMs: graceMs });
