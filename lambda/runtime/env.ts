/** Reads the function's environment once, at module load, failing fast with the variable's name. */

/** Names of the environment variables the functions read. */
export const ENV = {
  conversationsTable: 'TABLE_CONVERSATIONS',
  apiKeysTable: 'TABLE_API_KEYS',
  limitsTable: 'TABLE_LIMITS',
  settingsTable: 'TABLE_SETTINGS',
  auditTable: 'TABLE_AUDIT',
  dataKeyArn: 'DATA_KEY_ARN',
  auditRetentionDays: 'AUDIT_RETENTION_DAYS',
  dataRetentionDays: 'DATA_RETENTION_DAYS',
  guardrailId: 'GUARDRAIL_ID',
  guardrailVersion: 'GUARDRAIL_VERSION',
  modelAllowList: 'MODEL_ALLOW_LIST',
  defaultModelId: 'DEFAULT_MODEL_ID',
} as const;

/** A required variable; throws naming it when missing or empty. */
export function requireEnv(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const value = env[name]?.trim();
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

/** A required positive integer variable. */
export function requireIntEnv(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  const value = Number(requireEnv(name, env));
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`Environment variable ${name} must be a positive integer`);
  return value;
}
