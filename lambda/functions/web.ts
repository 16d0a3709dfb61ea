/**
 * The web chat page (`GET /`, `GET /app/*`) behind the load balancer's Cognito login. Its
 * files are copied next to the bundle at build time (ApiFunction `assets`).
 */
import { fileURLToPath } from 'node:url';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { createAwsCommon } from '../runtime/aws-common';
import { requireEnv } from '../runtime/env';
import { loadAssets, webFunction } from '../web/web-function';

const common = createAwsCommon('web');

export const handler = webFunction({
  claimCheck: common.claimCheck,
  audit: common.audit,
  log: common.observability.logger,
  assets: loadAssets(fileURLToPath(new URL('./assets/', import.meta.url))),
  signOutPath: '/app/logout',
  cognitoLogoutUrl: requireEnv('COGNITO_LOGOUT_URL'),
}).use(logMetrics(common.observability.metrics));
