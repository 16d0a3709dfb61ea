import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';

/** One claim the load balancer checks besides `iss`, `exp`, `nbf` and `iat`. */
export interface JwtClaim {
  readonly name: string;
  readonly format: 'single-string' | 'string-array' | 'space-separated-values';
  readonly values: readonly string[];
}

/** Properties of {@link JwtValidationAction}. */
export interface JwtValidationActionProps {
  /** Expected `iss` claim. */
  readonly issuer: string;
  /** Public HTTPS URL of the issuer's JSON Web Key Set (RS256 keys, at most 10, at most 150 KB). */
  readonly jwksEndpoint: string;
  /** Further claims to check (at most 10). */
  readonly additionalClaims: readonly JwtClaim[];
  /** Action after a valid token (the token is forwarded unchanged). */
  readonly next: elbv2.ListenerAction;
}

/**
 * The ALB `jwt-validation` action with additional claims. CDK's `ListenerAction.authenticateJwt`
 * renders only the issuer and JWKS endpoint, while CloudFormation's `JwtValidationConfig`
 * also takes `AdditionalClaims`, which is how the load balancer rejects an ID token
 * presented where an access token belongs (`token_use=access`).
 */
export class JwtValidationAction extends elbv2.ListenerAction {
  constructor(props: JwtValidationActionProps) {
    if (props.additionalClaims.length > 10)
      throw new Error('JwtValidationAction: at most 10 additional claims');
    for (const claim of props.additionalClaims) {
      if (['exp', 'iss', 'nbf', 'iat'].includes(claim.name)) {
        throw new Error(
          `JwtValidationAction: claim "${claim.name}" is always validated and cannot be configured`,
        );
      }
      if (claim.values.length < 1 || claim.values.length > 10) {
        throw new Error(`JwtValidationAction: claim "${claim.name}" needs 1 to 10 values`);
      }
    }
    super(
      {
        type: 'jwt-validation',
        jwtValidationConfig: {
          issuer: props.issuer,
          jwksEndpoint: props.jwksEndpoint,
          additionalClaims: props.additionalClaims.map((c) => ({
            name: c.name,
            format: c.format,
            values: [...c.values],
          })),
        },
      },
      props.next,
    );
  }
}
