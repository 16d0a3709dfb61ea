/**
 * Deploy-time custom resource: the private IPv4 addresses of an interface VPC endpoint's
 * network interfaces, as attributes `Address0` ... `Address<n-1>` (sorted, so a redeploy
 * that finds the same addresses changes nothing). CloudFormation exposes an endpoint's
 * `NetworkInterfaceIds` but not their addresses, and a load balancer's IP target group
 * needs the addresses (`AWS::EC2::VPCEndpoint` return values:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpcendpoint.html).
 * The interface ids are a property, so a replaced endpoint (new interfaces) updates the
 * resource and the target group registers the new addresses.
 */
import { DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { sendResponse } from './jwks-resolver';

/** Raised when the addresses cannot be read; its message becomes the CloudFormation failure reason. */
export class EndpointAddressError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EndpointAddressError';
  }
}

/** Reads the interfaces' private addresses by id (EC2 DescribeNetworkInterfaces); injected for tests. */
export type DescribeInterfaces = (
  ids: readonly string[],
) => Promise<readonly { id?: string; privateIp?: string }[]>;

const ENI_ID = /^eni-[0-9a-f]{8,17}$/;
const MAX_INTERFACES = 6;

/** The sorted addresses of `ids`; throws unless every one of them has exactly one answer with an address. */
export async function endpointAddresses(
  ids: readonly string[],
  describe: DescribeInterfaces,
): Promise<string[]> {
  if (ids.length < 1 || ids.length > MAX_INTERFACES) {
    throw new EndpointAddressError(`NetworkInterfaceIds must list 1 to ${MAX_INTERFACES} interfaces`);
  }
  for (const id of ids) {
    if (!ENI_ID.test(id))
      throw new EndpointAddressError(`${JSON.stringify(id)} is not a network interface id`);
  }
  let found: readonly { id?: string; privateIp?: string }[];
  try {
    found = await describe(ids);
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    throw new EndpointAddressError(`DescribeNetworkInterfaces failed (${name})`, { cause: error });
  }
  const byId = new Map(found.map((eni) => [eni.id, eni.privateIp]));
  return ids
    .map((id) => {
      const address = byId.get(id);
      if (address === undefined || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
        throw new EndpointAddressError(`Network interface ${id} has no private IPv4 address`);
      }
      return address;
    })
    .sort();
}

/** Decides the custom-resource response for an event (pure apart from `describe`). */
export async function handleEvent(
  event: CloudFormationCustomResourceEvent,
  describe: DescribeInterfaces,
): Promise<CloudFormationCustomResourceResponse> {
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  // Deleting removes nothing: the addresses are only values in the template.
  if (event.RequestType === 'Delete') {
    return { ...base, Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId };
  }
  const properties = event.ResourceProperties as Record<string, unknown>;
  const raw = properties.NetworkInterfaceIds;
  const ids = Array.isArray(raw) ? raw.map(String) : [];
  const physicalId = `endpoint-addresses-${[...ids].sort().join('-')}`;
  try {
    const addresses = await endpointAddresses(ids, describe);
    const data = Object.fromEntries(addresses.map((address, index) => [`Address${index}`, address]));
    return { ...base, Status: 'SUCCESS', PhysicalResourceId: physicalId, Data: data };
  } catch (error) {
    const reason =
      error instanceof EndpointAddressError ? error.message : 'Address lookup failed unexpectedly';
    return {
      ...base,
      Status: 'FAILED',
      Reason: reason,
      // A failed Create must still name a resource, or CloudFormation waits for the timeout.
      PhysicalResourceId:
        event.RequestType === 'Create'
          ? `endpoint-addresses-failed-${event.RequestId}`
          : event.PhysicalResourceId,
    };
  }
}

const ec2 = new EC2Client({ maxAttempts: 5 });

/** DescribeNetworkInterfaces through the SDK. */
export const describeInterfaces: DescribeInterfaces = async (ids) => {
  const output = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [...ids] }));
  return (output.NetworkInterfaces ?? []).map((eni) => ({
    ...(eni.NetworkInterfaceId === undefined ? {} : { id: eni.NetworkInterfaceId }),
    ...(eni.PrivateIpAddress === undefined ? {} : { privateIp: eni.PrivateIpAddress }),
  }));
};

/** Lambda entry point (the custom resource's service token). */
export const handler = async (event: CloudFormationCustomResourceEvent): Promise<void> => {
  const response = await handleEvent(event, describeInterfaces);
  console.log(
    JSON.stringify({ requestType: event.RequestType, status: response.Status, reason: response.Reason }),
  );
  await sendResponse(event.ResponseURL, response);
};
