import type * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Maps a validated day count to CDK's `RetentionDays`. The config schema admits only the
 * periods CloudWatch Logs supports, and `RetentionDays` values are those day counts.
 */
export function retentionDays(days: number): logs.RetentionDays {
  return days as logs.RetentionDays;
}
