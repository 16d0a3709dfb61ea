import { environments } from './environments';
import { type EnvironmentConfig, type EnvironmentConfigInput, environmentConfigSchema } from './schema';

/** Raised when a configuration value is invalid; the message names every bad field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses one environment's raw configuration, naming each invalid field as `env.path.to.field`. */
export function parseEnvironmentConfig(envName: string, raw: unknown): EnvironmentConfig {
  const result = environmentConfigSchema.safeParse(raw);
  if (result.success) {
    if (result.data.name !== envName) {
      throw new ConfigError(
        `Invalid configuration for environment "${envName}":\n  - ${envName}.name: must be "${envName}"`,
      );
    }
    return result.data;
  }
  const lines = result.error.issues.map((issue) => {
    const field = [envName, ...issue.path.map(String)].join('.');
    return `  - ${field}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration for environment "${envName}":\n${lines.join('\n')}`);
}

/**
 * Selects and parses environments: one when `selected` names it (`-c env=NAME`), all
 * otherwise. An unknown name is an error listing the known ones.
 */
export function loadEnvironments(
  selected: string | undefined,
  source: Readonly<Record<string, EnvironmentConfigInput>> = environments,
): EnvironmentConfig[] {
  const names = Object.keys(source);
  if (selected !== undefined && !names.includes(selected)) {
    throw new ConfigError(`Unknown environment "${selected}". Known environments: ${names.join(', ')}.`);
  }
  return (selected === undefined ? names : [selected]).map((name) =>
    parseEnvironmentConfig(name, source[name]),
  );
}
