/**
 * Structured JSON log lines that Cloud Logging parses (severity, message, httpRequest, labels).
 * One line per entry on stdout; never image bytes or API keys. Tests inject their own writer.
 */
import type { LogLevel } from './settings';

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface LogEntry {
  severity: Severity;
  message: string;
  [field: string]: unknown;
}

export type LogWriter = (line: string) => void;

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };
const LEVEL_TO_SEVERITY: Record<LogLevel, Severity> = { debug: 'DEBUG', info: 'INFO', warning: 'WARNING', error: 'ERROR' };

export interface Logger {
  log(entry: LogEntry): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warning(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(options: { level?: LogLevel; write?: LogWriter; base?: Record<string, unknown> } = {}): Logger {
  const minimum = RANK[LEVEL_TO_SEVERITY[options.level ?? 'info']];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.base ?? {};
  const log = (entry: LogEntry): void => {
    if (RANK[entry.severity] < minimum) return;
    try {
      write(JSON.stringify({ ...base, ...entry, time: new Date().toISOString() }, errorReplacer));
    } catch {
      // A log line must never take a request down.
    }
  };
  const at =
    (severity: Severity) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      log({ ...fields, severity, message });
  return {
    log,
    debug: at('DEBUG'),
    info: at('INFO'),
    warning: at('WARNING'),
    error: at('ERROR'),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, cause: value.cause };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** A logger that keeps entries in memory, for tests. */
export function createMemoryLogger(level: LogLevel = 'debug'): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = createLogger({ level, write: (line) => entries.push(JSON.parse(line) as LogEntry) });
  return Object.assign(logger, { entries });
}

/**
 * Warnings and errors as JSON lines on stderr (console.warn/console.error), for the parts that run
 * before or outside a service's logger: the telemetry buffer's default and the SIGTERM handler.
 */
export const CONSOLE_LOGGER: Pick<Logger, 'warning' | 'error'> = {
  warning: (message, fields) => console.warn(JSON.stringify({ severity: 'WARNING', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ severity: 'ERROR', message, ...fields })),
};

/** An error's message for a log field (anything thrown, not only Errors). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
