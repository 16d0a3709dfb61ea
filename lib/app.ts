import { readFileSync } from 'node:fs';
import { Annotations, App, Aspects } from 'aws-cdk-lib';
import { BucketRules, LogGroupRules, RetainStatefulRules } from './aspects/org-rules';
import { WithoutReservedConcurrency } from './aspects/reserved-concurrency';
import { addCompliancePlugins } from './compliance/plugins';
import { loadEnvironments } from './config/load';
import { modelLifecycleFindings } from './config/model-catalogue';
import type { EnvironmentConfig } from './config/schema';
import { OmniChatStage } from './stage';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Environment to synthesize (`-c env=NAME`); all when undefined. */
  readonly envName?: string;
  /** Cloud assembly directory. @default cdk.out (the CLI decides when run through it) */
  readonly outdir?: string;
  /** Register the compliance packs. Tests of single properties may skip them for speed. @default true */
  readonly compliance?: boolean;
  /** Configurations to use instead of the committed ones (tests). */
  readonly configs?: readonly EnvironmentConfig[];
  /** The day the model lifecycle check is run for. @default now */
  readonly today?: Date;
}

/** Feature flags and settings from cdk.json, so in-process synth behaves exactly like the CLI. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** Builds the CDK app: one Stage per environment, org-rule aspects and the compliance gate. */
export function buildApp(options: BuildAppOptions = {}): { app: App; stages: OmniChatStage[] } {
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    context: cdkJsonContext(),
  });
  const envName = options.envName ?? (app.node.tryGetContext('env') as string | undefined);
  const configs = options.configs ?? loadEnvironments(envName);
  const stages = configs.map((config) => {
    const stage = new OmniChatStage(app, config.name, { config });
    Aspects.of(stage).add(new LogGroupRules());
    Aspects.of(stage).add(new BucketRules());
    Aspects.of(stage).add(new RetainStatefulRules(config.removalPolicy !== 'destroy'));
    if (config.reservedConcurrency === undefined) Aspects.of(stage).add(new WithoutReservedConcurrency());
    // On the API stack, which holds the model grant: an error annotation fails `cdk synth`
    // and `npm run synth` (org-rule pack); a warning is printed by both.
    for (const finding of modelLifecycleFindings(
      config.name,
      config.models.allowList,
      options.today ?? new Date(),
    )) {
      if (finding.level === 'error') Annotations.of(stage.api).addError(`ModelLifecycle: ${finding.message}`);
      else Annotations.of(stage.api).addWarningV2(`omnichat:model-eol:${finding.modelId}`, finding.message);
    }
    return stage;
  });
  if (options.compliance ?? true) addCompliancePlugins(app);
  return { app, stages };
}
