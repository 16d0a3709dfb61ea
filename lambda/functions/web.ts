/**
 * The web chat page (`GET /`, `GET /app/*`) behind the load balancer's Cognito login. Its
 * files are copied next to the bundle at build time (ApiFunction `assets`). Wired by the
 * composition root (lambda/compose/compose-function.ts).
 */
import { fileURLToPath } from 'node:url';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { awsAdapters } from '../compose/aws-adapters';
import { composeWeb } from '../compose/compose-function';
import { loadAssets } from '../web/web-function';

const adapters = awsAdapters('web', {
  web: (env) => ({
    assets: loadAssets(fileURLToPath(new URL('./assets/', import.meta.url))),
    signOutPath: '/app/logout',
    cognitoLogoutUrl: env.cognitoLogoutUrl,
  }),
});

export const handler = composeWeb(adapters).handler.use(logMetrics(adapters.powertools.metrics));
