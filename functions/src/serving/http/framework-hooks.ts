/**
 * The one file that reaches into what the service does not own: the Functions Framework's copy of
 * Express (`application.handle`), the `http.createServer` call that makes its server, and the
 * process's SIGTERM listeners (the framework's own exits at once). Everything here is needed:
 *
 * - the front door (front-door.ts) must see each request before the framework's body parsers,
 *   which would buffer and inflate up to 1 GB: `wrapExpressHandle`;
 * - shutdown must know the server's connections and answer the HTTP parser's errors in JSON:
 *   `onFrameworkServer`;
 * - telemetry must be flushed before the framework's SIGTERM listener ends the process:
 *   `installSigtermFlush`.
 *
 * Each throws `framework_changed` when what it patches is not where it expects it, and
 * functions/test/integration/front-door-framework.test.ts fails on a framework upgrade that moves it.
 */
import type { Server } from 'node:http';
import { InternalError } from '../../platform/errors';
import { CONSOLE_LOGGER, errorText, type Logger } from '../../platform/logger';

type Next = (error?: unknown) => void;
type Handle = (req: unknown, res: unknown, callback?: Next) => void;
interface ExpressLikeApplication {
  handle: Handle;
}

const ORIGINAL_CREATE_SERVER = Symbol.for('ai-photo-detector.original-create-server');

/** Where the framework's Express is, resolved from where the framework is installed. */
export function frameworkExpressPath(): string {
  return require.resolve('express', { paths: [require.resolve('@google-cloud/functions-framework')] });
}

/**
 * Puts `wrapper` in front of every request the framework's Express application handles (a
 * mounted sub-application's call, which carries a callback, is left alone). `original` continues
 * into Express: its routing, body parsers and the registered function.
 */
export function wrapExpressHandle(wrapper: (original: (req: unknown, res: unknown, callback?: Next) => void, req: unknown, res: unknown) => void): void {
  let express: { application?: Partial<ExpressLikeApplication> };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    express = require(frameworkExpressPath()) as { application?: Partial<ExpressLikeApplication> };
  } catch (error) {
    throw new InternalError('framework_changed', `the Functions Framework's Express cannot be loaded (${String(error)}); framework-hooks.ts must be updated`);
  }
  if (express.application === undefined || typeof express.application.handle !== 'function') {
    throw new InternalError('framework_changed', "the Functions Framework's Express has no application.handle; framework-hooks.ts must be updated");
  }
  const application = express.application as ExpressLikeApplication;
  const original = application.handle;
  application.handle = function handle(this: ExpressLikeApplication, req: unknown, res: unknown, callback?: Next): void {
    if (callback !== undefined) {
      original.call(this, req, res, callback);
      return;
    }
    wrapper((request, response, next) => original.call(this, request, response, next), req, res);
  };
}

/**
 * The framework makes its server with `http.createServer(app)` (server.js, getServer) when it
 * starts, after this file has run: `setup` is called with every server made for an Express
 * application from then on.
 */
export function onFrameworkServer(setup: (server: Server) => void): void {
  // The module object itself (an `import * as` would be a copy): the framework calls http.createServer on it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const http = require('node:http') as typeof import('node:http');
  const holder = http as unknown as Record<symbol, typeof http.createServer | undefined>;
  // A second copy of this module (a test runner's fresh registry) replaces the hook instead of stacking one more.
  const original = holder[ORIGINAL_CREATE_SERVER] ?? http.createServer;
  holder[ORIGINAL_CREATE_SERVER] = original;
  const hooked = function createServer(this: unknown, ...args: unknown[]): Server {
    const server = (original as (...a: unknown[]) => Server).apply(this, args);
    const listener = args.find((arg) => typeof arg === 'function') as { handle?: unknown } | undefined;
    if (listener !== undefined && typeof listener.handle === 'function') setup(server);
    return server;
  };
  (http as { createServer: unknown }).createServer = hooked;
}

export interface SignalSource {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  listeners(event: string): unknown[];
}

export interface SigtermFlushOptions {
  /** Default: process. Tests pass an EventEmitter. */
  emitter?: SignalSource;
  signal?: string;
  /** Give up waiting for the flush after this long (Cloud Run allows 10 s after SIGTERM). Default 8000. */
  timeoutMs?: number;
  /** Runs after the flush when no other listener handles the signal. Default for process: re-raise it. */
  onDone?: () => void;
  logger?: Pick<Logger, 'warning' | 'error'>;
}

/**
 * Runs `shutdown.flush()` when the instance receives SIGTERM, then lets the signal take its course.
 * Other listeners of the signal, before and after this call (the Functions Framework's exits the
 * process at once), are held back and run, in order, only when the flush is done or has timed out.
 * Returns a function that restores them and removes the handler.
 */
export function installSigtermFlush(shutdown: { flush(): Promise<unknown> }, options: SigtermFlushOptions = {}): () => void {
  const emitter: SignalSource = options.emitter ?? process;
  const signal = options.signal ?? 'SIGTERM';
  const timeoutMs = options.timeoutMs ?? 8000;
  const logger = options.logger ?? CONSOLE_LOGGER;
  const held: Array<(...args: unknown[]) => void> = [];
  let handling = false;

  const hold = (listener: unknown): void => {
    if (typeof listener !== 'function') return;
    held.push(listener as (...args: unknown[]) => void);
    emitter.removeListener(signal, listener as (...args: unknown[]) => void);
  };
  const onSignal = (...args: unknown[]): void => {
    if (handling) return;
    handling = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    void Promise.race([shutdown.flush().then(() => 'flushed' as const), timeout])
      .then((outcome) => {
        if (outcome === 'timeout') logger.warning(`telemetry flush on ${signal} did not finish within ${timeoutMs} ms`);
      })
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        uninstall();
        if (held.length > 0) {
          for (const listener of held) {
            try {
              listener(...args);
            } catch (error) {
              logger.error(`a ${signal} listener failed after the telemetry flush`, { error: errorText(error) });
            }
          }
        } else if (options.onDone !== undefined) {
          options.onDone();
        } else if (emitter === (process as unknown as SignalSource)) {
          process.kill(process.pid, signal);
        }
      });
  };
  const onNewListener = (event: unknown, listener: unknown): void => {
    if (event !== signal || listener === onSignal || typeof listener !== 'function') return;
    // 'newListener' fires before the listener is added; take it out right after.
    queueMicrotask(() => {
      if (emitter.listeners(signal).includes(listener)) hold(listener);
    });
  };

  for (const listener of emitter.listeners(signal)) hold(listener);
  emitter.on(signal, onSignal);
  emitter.on('newListener', onNewListener);

  let installed = true;
  function uninstall(): void {
    if (!installed) return;
    installed = false;
    emitter.removeListener('newListener', onNewListener);
    emitter.removeListener(signal, onSignal);
    if (!handling) for (const listener of held) emitter.on(signal, listener);
  }
  return () => {
    uninstall();
    held.length = 0;
  };
}
