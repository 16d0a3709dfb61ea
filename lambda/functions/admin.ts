/**
 * `/api/v1/admin/*`: runtime settings, the model allow-list (within what IAM allows) and the
 * audit query. The only function that may read the audit table.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { adminFunction } from '../app/functions';
import { createAwsCommon } from '../runtime/aws-common';
import { createAwsServices } from '../runtime/aws-services';

const common = createAwsCommon('admin');
const services = createAwsServices(common);

export const handler = adminFunction({
  claimCheck: common.claimCheck,
  audit: common.audit,
  log: common.observability.logger,
  ...services.admin,
}).use(logMetrics(common.observability.metrics));
