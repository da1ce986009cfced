/**
 * The serving `Logger` interface, written for people reading a terminal or a Cloud Build log: one
 * line per entry, `HH:MM:SS severity message key=value …`. `--log-format json` switches to the
 * functions' structured JSON lines instead.
 */
import { createLogger, type LogEntry, type Logger, type Severity } from '../../functions/src/platform';

export type LogFormat = 'text' | 'json';

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

export function createConsoleLogger(options: {
  format?: LogFormat;
  write: (line: string) => void;
  level?: 'debug' | 'info' | 'warning' | 'error';
  base?: Record<string, unknown>;
}): Logger {
  const level = options.level ?? 'info';
  if (options.format === 'json') return createLogger({ level, write: options.write, ...(options.base === undefined ? {} : { base: options.base }) });
  const minimum = RANK[level.toUpperCase() as Severity];
  const base = options.base ?? {};
  const log = (entry: LogEntry): void => {
    if (RANK[entry.severity] < minimum) return;
    const { severity, message, ...fields } = { ...base, ...entry };
    const time = new Date().toISOString().slice(11, 19);
    const details = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${formatValue(value)}`)
      .join(' ');
    options.write(`${time} ${severity.padEnd(7)} ${message}${details.length > 0 ? `  ${details}` : ''}`);
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
    child: (fields) => createConsoleLogger({ ...options, base: { ...base, ...fields } }),
  };
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
