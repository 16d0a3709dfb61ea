/**
 * What the security monitoring watches and what it hands on: the input types of
 * {@link SecurityMonitoring} and the alarm record the dashboard and the README table read.
 * On their own so the dashboard, the alarm catalogue and the construct share them without
 * importing one another.
 */
import type { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Severity } from './alert-topics';
import type { RunbookSlug } from './runbooks';

/** A function to watch and the timeout its p99 duration is judged against. */
export interface MonitoredFunction {
  readonly function: lambda.IFunction;
  /** The function's configured timeout (an `IFunction` does not expose it). */
  readonly timeout: Duration;
}

/** The audit archiver and the dead-letter queue of its stream mapping. */
export interface MonitoredArchiver {
  readonly function: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
}

/** The web ACL, by the name WAF publishes its metrics under. */
export interface MonitoredWebAcl {
  /** Name of the web ACL (for a generated name: `Fn.select(0, Fn.split('|', cfnWebAcl.ref))`). */
  readonly name: string;
  /** @default - the stack's region */
  readonly region?: string;
}

/** The user pool and the app clients whose sign-ins are counted. */
export interface MonitoredUserPool {
  readonly userPoolId: string;
  /**
   * Client ids (at least one). A metric-math alarm may read at most 10 metrics (a hard
   * CloudWatch limit) and each client takes two, so every 5 clients get an alarm of their
   * own: `CognitoSignInFailures` for the first 5, `CognitoSignInFailures2` for the next 5, ...
   */
  readonly clientIds: readonly string[];
}

/** Which part of the dashboard (and which composite) an alarm belongs to. */
export type AlarmGroup = 'security' | 'service' | 'data';

/** One alarm of the construct, with what the README table and the tests need. */
export interface MonitoringAlarm {
  readonly alarm: cloudwatch.Alarm;
  readonly severity: Severity;
  readonly group: AlarmGroup;
  readonly runbook: RunbookSlug;
}
