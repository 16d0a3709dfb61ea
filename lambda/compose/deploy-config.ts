/**
 * What a function knows about its environment at build time: the local engine's policy
 * (projected from the one guardrail policy), the runtime settings in force until an admin
 * changes them, the deploy-time model allow-list (the ceiling of what admins may enable) and
 * the data retention. The CDK app compiles it into each bundle with esbuild's `define`
 * (lib/config/deploy-config.ts), so it is versioned with the code and needs none of the
 * Lambda environment's 4 KB; local mode passes the same object directly.
 */
import type { LocalGuardrailPolicy } from '../guardrail/policy';
import type { RuntimeSettings } from '../settings/settings-store';

/** The build-time configuration of one environment's functions. */
export interface DeployConfig {
  readonly environment: string;
  readonly localPolicy: LocalGuardrailPolicy;
  readonly runtimeDefaults: RuntimeSettings;
  readonly modelAllowList: readonly string[];
  /** Friendly name of each allow-listed id, from the committed model catalogue. */
  readonly modelNames: Readonly<Record<string, string>>;
  readonly dataRetentionDays: number;
}

/** Name of the identifier esbuild replaces with the environment's {@link DeployConfig}. */
export const DEPLOY_CONFIG_SYMBOL = '__OMNICHAT_DEPLOY_CONFIG__';

declare const __OMNICHAT_DEPLOY_CONFIG__: DeployConfig | undefined;

/** The configuration compiled into this bundle; throws when the bundle was built without one. */
export function bundledDeployConfig(): DeployConfig {
  const config = typeof __OMNICHAT_DEPLOY_CONFIG__ === 'undefined' ? undefined : __OMNICHAT_DEPLOY_CONFIG__;
  if (!config) throw new Error(`This bundle was built without ${DEPLOY_CONFIG_SYMBOL}`);
  return config;
}
