import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/schema';
import type { ApiFunction } from '../constructs/api-function';
import type { ChatLoadBalancer } from '../constructs/edge/load-balancer';
import type { PrivateStreamingApi } from '../constructs/edge/private-streaming-api';
import { BedrockGuardrail } from '../constructs/guardrail/bedrock-guardrail';
import type { ControlPlaneFunction } from '../constructs/identity/control-plane-function';
import type { PrivateNetwork } from '../constructs/private-network';
import type { WebAcl } from '../constructs/web-acl';
import { createApiFunctions, type FunctionBase } from './api/api-functions';
import { createAuditArchiver } from './api/audit-archiver';
import { createEdge } from './api/edge';
import type { DataStack } from './data-stack';
import type { IdentityStack } from './identity-stack';
import { retentionDays } from './retention';

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PrivateNetwork;
  readonly data: DataStack;
  readonly identity: IdentityStack;
}

/**
 * The stateless serving layer: Lambda functions split by privilege (each role reaches
 * only the tables, keys and models its routes need), the Bedrock guardrail, the audit
 * archiver, and the edge (WAF web ACL and the load balancer with its auth rules).
 *
 * Privilege split (DESIGN.md section 5; `npm run docs:permissions` renders it):
 * - every API function: GetItem on the API-keys table (key authentication and the owner
 *   directory) and PutItem, nothing else, on the audit table;
 * - chat: the conversations, limits and settings it serves a message with, new data keys,
 *   and Bedrock only for allow-listed models with this environment's guardrail version;
 * - chat-stream (config `chat.streaming`): the same as chat, but Bedrock streaming only;
 * - history: reads and deletes the caller's data (export, erasure), decrypts, never encrypts;
 * - keys: writes the API-keys table;
 * - admin: the settings table and the audit query (masked events only);
 * - web: nothing beyond the common grants (it serves files);
 * - the archiver: reads the audit stream and writes the Object Lock archive.
 *
 * Split by concern: the functions and their grants (./api/api-functions.ts), the audit
 * archiver (./api/audit-archiver.ts), the edge (./api/edge.ts). Each builds its constructs
 * with the stack as scope, so the logical ids are those of one stack.
 */
export class ApiStack extends Stack {
  /** Functions by name (the streaming API's deploy-time address lookup included, for its alarms). */
  readonly functions: Readonly<Record<string, ApiFunction | ControlPlaneFunction>>;
  /** Where audit stream records go when the archiver keeps failing (an alarm watches it). */
  readonly auditDeadLetters: sqs.IQueue;
  /** The Bedrock guardrail every model call names, at its pinned version. */
  readonly guardrail: BedrockGuardrail;
  /** The regional web ACL in front of the load balancer and the user pool. */
  readonly webAcl: WebAcl;
  /** The load balancer with its listener rules. */
  readonly edge: ChatLoadBalancer;
  /** The private streaming API behind the load balancer (config `chat.streaming`). */
  readonly streaming?: PrivateStreamingApi;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, network, data, identity } = props;
    const base: FunctionBase = {
      vpc: network.vpc,
      subnets: network.computeSubnets,
      logsKey: data.keys.logsKey,
      logRetention: retentionDays(config.logRetentionDays),
      environmentKey: data.keys.dataKey,
    };
    const functions = createApiFunctions(this, {
      config,
      base,
      data,
      identity,
      guardrail: () =>
        new BedrockGuardrail(this, 'Guardrail', {
          policy: config.guardrail,
          namePrefix: `omnichat-${config.name}`,
          kmsKey: data.keys.dataKey,
          description: `OmniChat ${config.name}: content filters, denied topics, words and PII on every model call`,
        }),
    });
    this.guardrail = functions.guardrail;
    const { fn: auditArchiver, deadLetters } = createAuditArchiver(this, config, base, data);
    this.auditDeadLetters = deadLetters;
    const { webAcl, edge, streaming } = createEdge(this, { config, network, data, identity, functions });
    this.webAcl = webAcl;
    this.edge = edge;
    if (streaming) this.streaming = streaming;
    const { health, keys, chat, chatStream, history, admin, web } = functions;
    this.functions = {
      health,
      keys,
      chat,
      ...(chatStream ? { chatStream } : {}),
      ...(streaming ? { streamingAddressLookup: streaming.addressLookup } : {}),
      history,
      admin,
      web,
      auditArchiver,
    };
  }
}
