/**
 * The machinery behind configuration: reads variables from a plain record
 * (process.env plus `.env`), collects every problem instead of stopping at the
 * first, and records what each variable is for so `.env.example` can be
 * checked against the code.
 */
export interface VariableDoc {
  name: string;
  doc: string;
  defaultValue?: string;
  secret?: boolean;
}

interface CommonOptions {
  /** What the variable is for and what breaks if it changes. */
  doc: string;
  /** Never echo the value in errors or logs. */
  secret?: boolean;
}

export class EnvReader {
  readonly errors: string[] = [];
  readonly documented: VariableDoc[] = [];
  private readonly env: Record<string, string | undefined>;

  constructor(env: Record<string, string | undefined>) {
    this.env = env;
  }

  private raw(name: string, options: CommonOptions, defaultValue?: string): string | undefined {
    this.documented.push({ name, doc: options.doc, defaultValue, secret: options.secret });
    const value = this.env[name];
    if (value === undefined || value.trim() === '') return undefined;
    return value.trim();
  }

  str(name: string, options: CommonOptions & { default: string }): string;
  str(name: string, options: CommonOptions & { default?: undefined }): string | undefined;
  str(name: string, options: CommonOptions & { default?: string }): string | undefined {
    return this.raw(name, options, options.default) ?? options.default;
  }

  int(name: string, options: CommonOptions & { default: number; min?: number; max?: number }): number {
    const value = this.raw(name, options, String(options.default));
    if (value === undefined) return options.default;
    const parsed = Number(value);
    if (!Number.isInteger(parsed)) {
      this.errors.push(`${name} must be an integer (got ${options.secret ? '<hidden>' : JSON.stringify(value)})`);
      return options.default;
    }
    if (options.min !== undefined && parsed < options.min) this.errors.push(`${name} must be >= ${options.min}`);
    if (options.max !== undefined && parsed > options.max) this.errors.push(`${name} must be <= ${options.max}`);
    return parsed;
  }

  bool(name: string, options: CommonOptions & { default: boolean }): boolean {
    const value = this.raw(name, options, String(options.default));
    if (value === undefined) return options.default;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    this.errors.push(`${name} must be true or false (got ${JSON.stringify(value)})`);
    return options.default;
  }

  oneOf<T extends string>(name: string, values: readonly T[], options: CommonOptions & { default: T }): T {
    const value = this.raw(name, options, options.default);
    if (value === undefined) return options.default;
    if (!values.includes(value as T)) {
      this.errors.push(`${name} must be one of ${values.join(', ')} (got ${JSON.stringify(value)})`);
      return options.default;
    }
    return value as T;
  }

  url(name: string, options: CommonOptions & { default: string }): string;
  url(name: string, options: CommonOptions & { default?: undefined }): string | undefined;
  url(name: string, options: CommonOptions & { default?: string }): string | undefined {
    const value = this.raw(name, options, options.default) ?? options.default;
    if (value === undefined) return undefined;
    try {
      new URL(value);
    } catch {
      this.errors.push(`${name} must be a URL${options.secret ? '' : ` (got ${JSON.stringify(value)})`}`);
      return undefined;
    }
    return value.replace(/\/+$/, '');
  }

  list(name: string, options: CommonOptions & { default?: string[] }): string[] {
    const value = this.raw(name, options, options.default?.join(','));
    if (value === undefined) return options.default ?? [];
    return value.split(',').map((part) => part.trim()).filter(Boolean);
  }

  /** Record a problem found while combining several variables. */
  fail(message: string): void {
    this.errors.push(message);
  }
}

/** Thrown by `loadConfig` with every problem found. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
