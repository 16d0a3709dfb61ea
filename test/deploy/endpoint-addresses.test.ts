/**
 * The deploy-time lookup of an interface endpoint's addresses (lambda/deploy/endpoint-addresses.ts)
 * that the load balancer's IP target group registers, with DescribeNetworkInterfaces faked.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { type DescribeInterfaces, handleEvent } from '../../lambda/deploy/endpoint-addresses';

const ENIS = { 'eni-0aaaaaaaaaaaaaaa1': '10.10.5.20', 'eni-0bbbbbbbbbbbbbbb2': '10.10.1.9' } as const;
const fromTable: DescribeInterfaces = async (ids) =>
  ids.map((id) => ({ id, privateIp: ENIS[id as keyof typeof ENIS] }));

function event(
  type: 'Create' | 'Update' | 'Delete',
  ids: unknown = Object.keys(ENIS),
): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:eu-central-1:111111111111:function:x',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-central-1:111111111111:stack/api/1',
    RequestId: 'r1',
    LogicalResourceId: 'EndpointAddresses',
    ResourceType: 'Custom::EndpointAddresses',
    ResourceProperties: { ServiceToken: 'x', NetworkInterfaceIds: ids },
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'endpoint-addresses-old', OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

describe('endpoint addresses custom resource', () => {
  it.each(['Create', 'Update'] as const)('%s answers every address, sorted, as Address0..n', async (type) => {
    const response = await handleEvent(event(type), fromTable);
    expect(response.Status).toBe('SUCCESS');
    expect(response.Data).toEqual({ Address0: '10.10.1.9', Address1: '10.10.5.20' });
    expect(response.PhysicalResourceId).toBe(
      'endpoint-addresses-eni-0aaaaaaaaaaaaaaa1-eni-0bbbbbbbbbbbbbbb2',
    );
  });

  it('Delete reads nothing', async () => {
    const describeSpy = vi.fn(fromTable);
    const response = await handleEvent(event('Delete'), describeSpy);
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'endpoint-addresses-old' });
    expect(describeSpy).not.toHaveBeenCalled();
  });

  it.each([
    ['no interface ids', [], /1 to 6 interfaces/],
    ['a malformed id', ['eni-0aaaaaaaaaaaaaaa1', 'sg-123'], /not a network interface id/],
    ['an id EC2 does not answer for', ['eni-0ccccccccccccccc3'], /has no private IPv4 address/],
    ['a property that is not a list', 'eni-0aaaaaaaaaaaaaaa1', /1 to 6 interfaces/],
  ])('fails with a reason for %s', async (_case, ids, reason) => {
    const response = await handleEvent(event('Create', ids), fromTable);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(reason);
    expect(response.PhysicalResourceId).toBe('endpoint-addresses-failed-r1');
  });

  it('an EC2 failure on Update keeps the old physical id and names only the error type', async () => {
    const failing: DescribeInterfaces = async () => {
      throw Object.assign(new Error('secret detail'), { name: 'UnauthorizedOperation' });
    };
    const response = await handleEvent(event('Update'), failing);
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'endpoint-addresses-old' });
    expect(response.Reason).toBe('DescribeNetworkInterfaces failed (UnauthorizedOperation)');
  });
});
