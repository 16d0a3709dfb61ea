import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Properties CloudFormation documents that the machine's cfn-lint (1.51; it cannot be upgraded
 * here) does not know yet. cfn-lint v1 applies `--override-spec` files as RFC 6902 JSON patches
 * to its resource schemas (`{"Patches": {"<type>": [ops]}}`; cfnlint/schema/_patch.py,
 * https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/customize_specifications.md).
 * Each extension carries exactly the documented shape, so cfn-lint still rejects an unknown
 * key (E3002) or a value outside the documented ones (E3030) in that property: the gate is
 * extended, not silenced. Drop an entry once cfn-lint's own schema has the property.
 */
export interface CfnLintSchemaExtension {
  readonly resourceType: string;
  readonly property: string;
  /** The CloudFormation reference page the shape below was copied from. */
  readonly documentedAt: string;
  /** JSON schema of the property's value, as documented. */
  readonly schema: Record<string, unknown>;
}

export const CFN_LINT_SCHEMA_EXTENSIONS: readonly CfnLintSchemaExtension[] = [
  {
    // `IssuerConfiguration: { Type: String }`, Required: No, Allowed values: ORIGINAL | UPDATED,
    // Update requires: No interruption. cfn-lint 1.51 reports it as E3002.
    resourceType: 'AWS::Cognito::UserPool',
    property: 'IssuerConfiguration',
    documentedAt:
      'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cognito-userpool-issuerconfiguration.html',
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { Type: { type: 'string', enum: ['ORIGINAL', 'UPDATED'] } },
    },
  },
];

/** The `--override-spec` document for {@link CFN_LINT_SCHEMA_EXTENSIONS}. */
export function cfnLintOverrideSpec(
  extensions: readonly CfnLintSchemaExtension[] = CFN_LINT_SCHEMA_EXTENSIONS,
): { Patches: Record<string, unknown[]> } {
  const patches: Record<string, unknown[]> = {};
  for (const e of extensions) {
    const definition = `${e.property}Documented`;
    const forType = patches[e.resourceType] ?? [];
    patches[e.resourceType] = forType;
    forType.push(
      { op: 'add', path: `/definitions/${definition}`, value: e.schema },
      { op: 'add', path: `/properties/${e.property}`, value: { $ref: `#/definitions/${definition}` } },
    );
  }
  return { Patches: patches };
}

/** Writes the override spec into `dir` and returns its path (for `cfn-lint --override-spec`). */
export function writeCfnLintOverrideSpec(dir: string): string {
  const path = join(dir, 'cfn-lint-override-spec.json');
  writeFileSync(path, `${JSON.stringify(cfnLintOverrideSpec(), null, 2)}\n`);
  return path;
}
