import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { loadEnvironments } from '../../lib/config/load';
import type { EnvironmentConfig } from '../../lib/config/schema';
import type { OmniChatStage } from '../../lib/stage';

/** Names of the committed environments, for `it.each`. */
export const ENV_NAMES = loadEnvironments(undefined).map((c) => c.name);

const cache = new Map<string, OmniChatStage>();

/**
 * Builds one environment's stage without the compliance plugins (fast); property
 * tests read its stacks' templates. Cached per environment: building is the slow part.
 */
export function stageFor(envName: string): OmniChatStage {
  let stage = cache.get(envName);
  if (!stage) {
    const { stages } = buildApp({ envName, compliance: false });
    stage = stages[0]!;
    cache.set(envName, stage);
  }
  return stage;
}

/** Builds a stage from a modified configuration (not cached). */
export function stageWith(config: EnvironmentConfig): OmniChatStage {
  return buildApp({ configs: [config], compliance: false }).stages[0]!;
}

/** The configuration of a committed environment, for tests that tweak one field. */
export function configOf(envName: string): EnvironmentConfig {
  return loadEnvironments(envName)[0]!;
}

/** Template of a stack of the stage. */
export function templateOf(stage: OmniChatStage, stack: 'data' | 'network'): Template {
  return Template.fromStack(stage[stack]);
}
