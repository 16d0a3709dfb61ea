/**
 * Personal API keys: `GET/POST /api/v1/keys`, `DELETE /api/v1/keys/{id}`. Only this
 * function may write the keys table; a key is shown once and only its hash is stored.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { keysFunction } from '../app/functions';
import { createAwsCommon } from '../runtime/aws-common';

const common = createAwsCommon('keys');

export const handler = keysFunction({
  claimCheck: common.claimCheck,
  audit: common.audit,
  log: common.observability.logger,
  store: common.apiKeyStore,
}).use(logMetrics(common.observability.metrics));
