/**
 * Conversation history and the caller's privacy rights (`/api/v1/conversations*`,
 * `/api/v1/me*`). No model access; may decrypt the caller's messages and erase their data.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { historyFunction } from '../app/functions';
import { createAwsCommon } from '../runtime/aws-common';
import { createAwsServices } from '../runtime/aws-services';

const common = createAwsCommon('history');
const services = createAwsServices(common);

export const handler = historyFunction({
  claimCheck: common.claimCheck,
  audit: common.audit,
  log: common.observability.logger,
  history: services.history,
}).use(logMetrics(common.observability.metrics));
