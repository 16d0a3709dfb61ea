import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { requiredAccountConcurrency, reservedConcurrencyOf } from '../../lib/aspects/reserved-concurrency';
import { configOf, ENV_NAMES, stageFor, stageWith } from '../support/synth';

/** ReservedConcurrentExecutions of every function in every stack of a stage. */
function reservations(envName: string): number[] {
  const stage = stageFor(envName);
  return [stage.data, stage.identity, stage.network, stage.api, stage.monitoring].flatMap((stack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.ReservedConcurrentExecutions as number | undefined)
      .filter((r): r is number => r !== undefined),
  );
}

describe('reserved concurrency', () => {
  it('reserves nothing in dev, so it deploys into a new account with a quota of 10', () => {
    expect(configOf('dev').reservedConcurrency).toBeUndefined();
    expect(reservations('dev')).toEqual([]);
    expect(requiredAccountConcurrency(reservedConcurrencyOf(stageFor('dev')).total)).toBe(0);
  });

  it.each([
    // chat.streaming: the streaming chat function reserves chat's share, the address lookup 1.
    ['staging', 91, 191],
    ['prod', 300, 400],
  ])('reserves in %s and needs an account quota of the total + 100', (envName, total, quota) => {
    const sum = reservations(envName).reduce((a, b) => a + b, 0);
    expect(sum).toBe(total);
    expect(reservedConcurrencyOf(stageFor(envName)).total).toBe(total);
    expect(requiredAccountConcurrency(total)).toBe(quota);
  });

  it('reservations on in dev would reserve 60 (Cognito and directory triggers included); off, none at all', () => {
    const stage = stageWith({
      ...configOf('dev'),
      reservedConcurrency: { chat: 10, history: 5, keys: 2, admin: 2, web: 5, health: 2 },
    });
    Template.fromStack(stage.api); // synthesizes the app, which applies the aspects
    expect(reservedConcurrencyOf(stage).total).toBe(60);
    expect(Object.keys(reservedConcurrencyOf(stage).byFunction).some((p) => p.includes('PreSignUp'))).toBe(
      true,
    );
  });

  it.each(ENV_NAMES)('%s: the schema accepts the committed value', (envName) => {
    expect(() => configOf(envName)).not.toThrow();
  });
});
