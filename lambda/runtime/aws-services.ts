/**
 * AWS adapters of the chat, history and admin ports: KMS data keys under the data CMK and
 * the tables named in the environment. Built once per container at module load; a missing
 * variable fails the cold start with its name.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { bundledDeployConfig } from '../app/deploy-config';
import { composeServices, type Services } from '../app/services';
import { KmsDataKeys } from '../crypto/kms-data-keys';
import type { AwsCommon } from './aws-common';
import { ENV, requireEnv } from './env';

/** The services of an API function in AWS. */
export function createAwsServices(common: AwsCommon, env: NodeJS.ProcessEnv = process.env): Services {
  return composeServices({
    dynamo: common.dynamo,
    tables: {
      conversations: requireEnv(ENV.conversationsTable, env),
      limits: requireEnv(ENV.limitsTable, env),
      settings: requireEnv(ENV.settingsTable, env),
      audit: requireEnv(ENV.auditTable, env),
    },
    keys: new KmsDataKeys({
      client: new KMSClient({ maxAttempts: 3 }),
      keyArn: requireEnv(ENV.dataKeyArn, env),
    }),
    deploy: bundledDeployConfig(),
    base: { claimCheck: common.claimCheck, audit: common.audit },
    apiKeyStore: common.apiKeyStore,
    count: common.observability.count,
    countWith: common.observability.countWith,
  });
}
