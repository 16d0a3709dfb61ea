import { type IAspect, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/**
 * Lambda keeps this much of an account's concurrency unreserved: a reservation that would
 * leave less fails the deployment ("You can reserve up to the Unreserved account concurrency
 * value that is shown, minus 100 for functions that don't have reserved concurrency",
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 */
export const UNRESERVED_MINIMUM = 100;

/** Why a function of an environment without reservations has none (cdk-nag LambdaConcurrency). */
export const NO_RESERVATION_REASON =
  'Reserved concurrency is off in this environment by configuration (reservedConcurrency absent): reserving needs an account concurrency quota of the total + 100 and new accounts often have 10 or 50, so the stack would not deploy. Floods are still bounded by the WAF rate limits, the per-user rate limits and daily token budgets; staging and prod reserve.';

/** Acknowledges the missing reservation on a function, with {@link NO_RESERVATION_REASON}. */
export function acknowledgeNoReservation(fn: IConstruct): void {
  for (const pack of ['HIPAA.Security', 'NIST.800.53.R5']) {
    Validations.of(fn).acknowledge({
      id: `${pack}::${pack}-LambdaConcurrency`,
      reason: NO_RESERVATION_REASON,
    });
  }
}

/**
 * Removes every reservation in its scope, for an environment that turned reservations off:
 * functions built by constructs that reserve on their own (Cognito triggers, the deploy-time
 * JWKS resolver) included, so the environment deploys into an account of any quota.
 */
export class WithoutReservedConcurrency implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof lambda.CfnFunction && node.reservedConcurrentExecutions !== undefined) {
      node.reservedConcurrentExecutions = undefined;
      acknowledgeNoReservation(node);
    }
  }
}

/** Reserved concurrency of every function in `scope`, by construct path, and the total. */
export function reservedConcurrencyOf(scope: IConstruct): {
  total: number;
  byFunction: Record<string, number>;
} {
  const byFunction: Record<string, number> = {};
  for (const node of scope.node.findAll()) {
    if (!(node instanceof lambda.CfnFunction)) continue;
    const reserved = Stack.of(node).resolve(node.reservedConcurrentExecutions) as number | undefined;
    if (typeof reserved === 'number') byFunction[node.node.path] = reserved;
  }
  return { total: Object.values(byFunction).reduce((a, b) => a + b, 0), byFunction };
}

/** The account concurrency quota an environment needs: none beyond Lambda's own without reservations. */
export function requiredAccountConcurrency(reservedTotal: number): number {
  return reservedTotal === 0 ? 0 : reservedTotal + UNRESERVED_MINIMUM;
}
