import { fileURLToPath } from 'node:url';
import { CustomResource, Duration, type RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as elbv2Targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EncryptedLogGroup } from '../encrypted-log-group';
import { ControlPlaneFunction } from '../identity/control-plane-function';

const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Properties of {@link PrivateStreamingApi}. */
export interface PrivateStreamingApiProps {
  readonly vpc: ec2.IVpc;
  /** Where the `execute-api` endpoint's interfaces go (the compute subnets of the endpoint zones). */
  readonly endpointSubnets: ec2.SubnetSelection;
  /** How many interfaces the endpoint has: one per zone of {@link endpointSubnets} (1 to 6). */
  readonly endpointZones: number;
  /** The streaming function (wrapped in `awslambda.streamifyResponse`). */
  readonly handler: lambda.IFunction;
  /** The path the API serves, e.g. `/api/v1/chat` (`POST` only). */
  readonly path: string;
  /** Key of the access-log and custom-resource log groups. */
  readonly logsKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** @default 'stream' */
  readonly stageName?: string;
}

/**
 * The private half of the streaming chat path (issue 20, docs/streaming.md option (a)): an
 * `execute-api` interface endpoint, a PRIVATE REST API reachable only through it, one `POST`
 * method whose Lambda proxy integration streams (`responseTransferMode: STREAM`, so API
 * Gateway calls InvokeWithResponseStream and forwards the body as it is written), a stage
 * with CMK-encrypted access logs and X-Ray, and an IP target group of the endpoint's
 * addresses for the load balancer's streaming rules (which rewrite Host and path, see
 * {@link hostHeader} and {@link stagePathPrefix}).
 *
 * Secure by default: private DNS is off on the endpoint, so no other `execute-api` name in
 * the VPC resolves to it (the load balancer reaches it by address and names the API in the
 * Host header, which the endpoint routes by:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-test-invoke-url.html);
 * its security group admits HTTPS from the load balancer only ({@link allowFrom}); its
 * policy admits only this account's principals invoking this stage's method; and the API's
 * resource policy denies every request that did not come through this endpoint
 * (`aws:SourceVpce`:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html).
 */
export class PrivateStreamingApi extends Construct {
  readonly endpoint: ec2.InterfaceVpcEndpoint;
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  /** HTTPS to the endpoint's addresses; the load balancer's streaming rules forward here. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The Host the load balancer must send: `{api-id}.execute-api.{region}.amazonaws.com`. */
  readonly hostHeader: string;
  /** The path prefix the load balancer must add: `/{stage}`. */
  readonly stagePathPrefix: string;
  /** The deploy-time lookup of the endpoint's addresses. */
  readonly addressLookup: ControlPlaneFunction;

  constructor(scope: Construct, id: string, props: PrivateStreamingApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'stream';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(stageName)) {
      throw new Error(
        `PrivateStreamingApi: stageName "${stageName}" must be 1 to 64 letters, digits, - or _`,
      );
    }
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(props.path)) {
      throw new Error(`PrivateStreamingApi: path "${props.path}" must be a plain path such as /api/v1/chat`);
    }
    if (!Number.isInteger(props.endpointZones) || props.endpointZones < 1 || props.endpointZones > 6) {
      throw new Error('PrivateStreamingApi: endpointZones must be 1 to 6');
    }
    const stack = Stack.of(this);

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: props.vpc,
      description: 'execute-api endpoint: HTTPS from the load balancer only',
      allowAllOutbound: false,
    });
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
      subnets: props.endpointSubnets,
      privateDnsEnabled: false,
      securityGroups: [this.endpointSecurityGroup],
      open: false,
    });
    // No reference to the API (its policy references the endpoint): the stage, method and
    // path in this account pin it instead.
    const methodArn = `arn:${stack.partition}:execute-api:${stack.region}:${stack.account}:*/${stageName}/POST${props.path}`;
    this.endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ThisAccountStreamingMethodOnly',
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [methodArn],
        conditions: { StringEquals: { 'aws:PrincipalAccount': stack.account } },
      }),
    );

    this.accessLogs = new EncryptedLogGroup(this, 'AccessLogs', {
      encryptionKey: props.logsKey,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    }).logGroup;

    const viaEndpoint = { 'aws:SourceVpce': this.endpoint.vpcEndpointId };
    this.api = new apigw.RestApi(this, 'Api', {
      description:
        'Streaming chat replies (POST /api/v1/chat, text/event-stream), reachable only through the execute-api endpoint behind the load balancer',
      endpointConfiguration: { types: [apigw.EndpointType.PRIVATE], vpcEndpoints: [this.endpoint] },
      cloudWatchRole: false,
      deploy: true,
      deployOptions: {
        stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            extendedRequestId: '$context.extendedRequestId',
            sourceIp: '$context.identity.sourceIp',
            vpceId: '$context.identity.vpceId',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integration.status',
            integrationLatencyMs: '$context.integration.latency',
            integrationError: '$context.integration.error',
            error: '$context.error.message',
            xrayTraceId: '$context.xrayTraceId',
          }),
        ),
        tracingEnabled: true,
        // Caching a per-user, per-request stream would be wrong; stated so a reviewer sees it.
        cachingEnabled: false,
        // A stage-wide ceiling (requests per second): the per-credential limits are the web
        // ACL's, the concurrency limit the function's reservation; this caps the rest.
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
      },
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'InvokeThroughOurEndpoint',
            principals: [new iam.AnyPrincipal()],
            actions: ['execute-api:Invoke'],
            resources: ['execute-api:/*'],
            conditions: { StringEquals: viaEndpoint },
          }),
          new iam.PolicyStatement({
            sid: 'DenyAnyOtherPath',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['execute-api:Invoke'],
            resources: ['execute-api:/*'],
            conditions: { StringNotEquals: viaEndpoint },
          }),
        ],
      }),
    });

    const validator = this.api.addRequestValidator('RequireAccept', {
      requestValidatorName: 'require-accept-header',
      validateRequestParameters: true,
      // The body is parsed and validated by the function, as for every route.
      validateRequestBody: false,
    });
    let resource: apigw.IResource = this.api.root;
    for (const segment of props.path.split('/').filter((part) => part !== '')) {
      resource = resource.addResource(segment);
    }
    const method = resource.addMethod(
      'POST',
      new apigw.LambdaIntegration(props.handler, {
        proxy: true,
        responseTransferMode: apigw.ResponseTransferMode.STREAM,
        allowTestInvoke: false,
      }),
      {
        authorizationType: apigw.AuthorizationType.NONE,
        requestValidator: validator,
        requestParameters: { 'method.request.header.Accept': true },
      },
    );
    // The integration's invoke permission names the method's ARN (SourceArn), a token the
    // Control Tower guard rule cannot read; the account states the same scope as a literal.
    for (const child of method.node.children) {
      if (child instanceof lambda.CfnPermission) child.sourceAccount = stack.account;
    }
    this.acknowledgeFindings(method);
    this.hostHeader = `${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    this.stagePathPrefix = `/${stageName}`;

    this.addressLookup = new ControlPlaneFunction(this, 'AddressLookup', {
      entry: `${projectRoot}lambda/deploy/endpoint-addresses.ts`,
      projectRoot,
      description:
        "Deploy time: the execute-api endpoint's private addresses for the load balancer's IP targets",
      logsKey: props.logsKey,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      reservedConcurrency: 1,
      timeout: Duration.seconds(60),
      outsideVpcReason:
        'Runs only at deployment, invoked synchronously by CloudFormation; it calls the EC2 API and answers to the pre-signed S3 response URL, neither of which the isolated VPC can reach (no EC2 endpoint, no internet route). Its only permission beyond its logs and traces is DescribeNetworkInterfaces.',
    });
    const describePolicy = new iam.ManagedPolicy(this, 'DescribeInterfacesPolicy', {
      description: "AddressLookup: read the endpoint's network interfaces",
      roles: [this.addressLookup.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DescribeEndpointInterfaces',
          actions: ['ec2:DescribeNetworkInterfaces'],
          resources: ['*'],
        }),
      ],
    });
    Validations.of(describePolicy).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeNetworkInterfaces supports no resource-level permissions (Service Authorization Reference, Amazon EC2: "*" only); it is a read-only call made at deployment, and the function can do nothing else.',
    });
    const lookup = new CustomResource(this, 'EndpointAddresses', {
      serviceToken: this.addressLookup.function.functionArn,
      resourceType: 'Custom::EndpointAddresses',
      properties: { NetworkInterfaceIds: this.endpoint.vpcEndpointNetworkInterfaceIds },
    });
    lookup.node.addDependency(describePolicy);

    const targets = Array.from(
      { length: props.endpointZones },
      (_, index) => new elbv2Targets.IpTarget(Token.asString(lookup.getAtt(`Address${index}`)), 443),
    );
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      protocolVersion: elbv2.ApplicationProtocolVersion.HTTP1,
      port: 443,
      targets,
      // The health check reaches the endpoint without an API's Host header, which API Gateway
      // refuses with a 4xx: any HTTP answer over TLS means the interface is up. A 5xx or no
      // answer takes the address out of service.
      healthCheck: {
        protocol: elbv2.Protocol.HTTPS,
        path: '/',
        healthyHttpCodes: '200-499',
        interval: Duration.seconds(30),
      },
    });
  }

  /** Findings of the compliance packs that do not fit a private API behind the load balancer, each with its reason. */
  private acknowledgeFindings(method: apigw.Method): void {
    const stage = this.api.deploymentStage;
    const acknowledge = (scope: Construct, ids: readonly string[], reason: string) => {
      for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
    };
    acknowledge(
      method,
      ['AwsSolutions::AwsSolutions-APIG4', 'AwsSolutions::AwsSolutions-COG4'],
      'Authentication happens before a request can reach this private API: the load balancer rule that forwards here carries the same jwt-validation / authenticate-cognito action as the whole-reply chat rule (or requires the API-key header), and the function verifies the access token or API key again, as every route does. The API admits only requests through our execute-api endpoint (resource policy on aws:SourceVpce), whose security group admits only the load balancer. An API Gateway authorizer would be a third check with a second copy of the token logic.',
    );
    acknowledge(
      this.api,
      ['AwsSolutions::AwsSolutions-APIG2'],
      'The method requires its Accept header (request-parameter validation); the body is validated by the function (size, content type, UTF-8, JSON schema) exactly as on the whole-reply route. An API Gateway body model would be a second, drifting copy of that schema.',
    );
    acknowledge(
      stage,
      [
        'AwsSolutions::AwsSolutions-APIG3',
        'NIST.800.53.R5::NIST.800.53.R5-APIGWAssociatedWithWAF',
        'PCI.DSS.321::PCI.DSS.321-APIGWAssociatedWithWAF',
      ],
      "Every request reaching this stage passed the environment's web ACL on the load balancer first (the API is private and admits only our endpoint, which admits only the load balancer). Associating the same ACL again would count each request twice against its per-credential rate limits.",
    );
    acknowledge(
      stage,
      [
        'AwsSolutions::AwsSolutions-APIG6',
        'HIPAA.Security::HIPAA.Security-APIGWExecutionLoggingEnabled',
        'NIST.800.53.R5::NIST.800.53.R5-APIGWExecutionLoggingEnabled',
        'PCI.DSS.321::PCI.DSS.321-APIGWExecutionLoggingEnabled',
        'cdk-validator-cfnguard::api_gw_v1_execution_logging_enabled_check',
      ],
      "Execution logging needs the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), one setting per account and region that this stack would overwrite for every other API in the account. Access logging is on for every request (JSON: request id, status, latencies, the integration's error, X-Ray trace id) to a CMK-encrypted log group with retention, and the function logs its own errors; execution logs would add API Gateway's internal steps only.",
    );
    acknowledge(
      stage,
      [
        'HIPAA.Security::HIPAA.Security-APIGWCacheEnabledAndEncrypted',
        'NIST.800.53.R5::NIST.800.53.R5-APIGWCacheEnabledAndEncrypted',
        'PCI.DSS.321::PCI.DSS.321-APIGWCacheEnabledAndEncrypted',
      ],
      'The only method is POST /api/v1/chat, a per-user streamed reply: caching it would be wrong (and would serve one user another user’s reply), so the stage has no cache, and no cached data to encrypt.',
    );
    acknowledge(
      stage,
      [
        'HIPAA.Security::HIPAA.Security-APIGWSSLEnabled',
        'NIST.800.53.R5::NIST.800.53.R5-APIGWSSLEnabled',
        'PCI.DSS.321::PCI.DSS.321-APIGWSSLEnabled',
      ],
      'A stage client certificate authenticates API Gateway to an HTTP backend; the backend here is a Lambda function invoked through the Lambda API (SigV4 over TLS), which does not use one. Clients reach the load balancer over TLS 1.3 and the load balancer reaches the endpoint over HTTPS.',
    );
  }

  /** Lets `peer` (the load balancer's security group) open HTTPS connections to the endpoint. */
  allowFrom(peer: ec2.ISecurityGroup): void {
    this.endpointSecurityGroup.addIngressRule(peer, ec2.Port.tcp(443), 'HTTPS from the load balancer');
  }
}
