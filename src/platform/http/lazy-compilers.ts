/**
 * Route schema compilation off the start-up path. Fastify compiles a validator
 * (Ajv) and a serializer (fast-json-stringify) for every schema of every route
 * before it listens — about a fifth of the CPU of a start with this many
 * routes. These builders wrap Fastify's own (same options, same behaviour) and
 * hand back functions that compile on first use; `warm()`, called once the
 * server listens, compiles the rest in the background one per event-loop turn,
 * so a broken schema still shows up in the log at start and first requests
 * rarely pay for compilation.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

const require = createRequire(import.meta.url);

type Compile = (definition: object) => (...args: unknown[]) => unknown;
type Builder = (...args: unknown[]) => Compile;

interface Pending { compile(): void; describe: string }
type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

export interface LazyCompilers {
  /** For Fastify's `schemaController.compilersFactory`. */
  compilersFactory: CompilersFactory;
  /** Compiles every schema not compiled yet, one per event-loop turn; reports failures to `onError`. */
  warm(onError: (err: Error, where: string) => void): Promise<void>;
}

function describe(definition: object): string {
  const d = definition as { method?: string; url?: string; httpPart?: string; httpStatus?: string };
  return `${d.method ?? ''} ${d.url ?? ''} ${d.httpPart ?? (d.httpStatus ? `response ${d.httpStatus}` : '')}`.trim();
}

export function lazyCompilers(): LazyCompilers {
  const pending = new Set<Pending>();
  const ajvBuilder = (require('@fastify/ajv-compiler') as () => Builder)();
  const serializerBuilder = (require('@fastify/fast-json-stringify-compiler') as () => Builder)();

  /** Compiles `definition` on first call (or when the background pass reaches it), once. */
  const deferred = (definition: Parameters<Compile>[0], compile: Compile) => {
    let fn: ReturnType<Compile> | undefined;
    const entry: Pending = { describe: describe(definition), compile: () => get() };
    const get = () => {
      if (!fn) {
        pending.delete(entry);
        fn = compile(definition);
      }
      return fn;
    };
    pending.add(entry);
    return get;
  };

  const lazyValidator = (compile: Compile): Compile => (definition) => {
    const get = deferred(definition, compile) as () => ((...args: unknown[]) => unknown) & { errors?: unknown; schemaEnv?: unknown };
    const validate = (data: unknown, context?: unknown) => {
      const f = get();
      const result = f(data, context);
      validate.errors = f.errors;
      return result;
    };
    validate.errors = undefined as unknown;
    // Fastify passes the parent object (so Ajv may coerce the root value) only when the function has schemaEnv.
    Object.defineProperty(validate, 'schemaEnv', { get: () => get().schemaEnv });
    return validate;
  };

  const lazySerializer = (compile: Compile): Compile => (definition) => {
    const get = deferred(definition, compile) as () => (data: unknown) => unknown;
    return (data: unknown) => get()(data);
  };

  return {
    compilersFactory: {
      buildValidator: (...args: unknown[]) => lazyValidator(ajvBuilder(...args)),
      buildSerializer: (...args: unknown[]) => lazySerializer(serializerBuilder(...args)),
    } as unknown as CompilersFactory,
    async warm(onError) {
      for (const entry of [...pending]) {
        await new Promise((resolve) => setImmediate(resolve));
        try {
          entry.compile();
        } catch (err) {
          pending.delete(entry);
          onError(err as Error, entry.describe);
        }
      }
    },
  };
}
