import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GROUPS, PERMISSIONS, RESOURCE_SERVER_SCOPES, ROUTES } from '../../lambda/auth/permissions';
import { PERMISSIONS_DOC, renderPermissions } from '../../scripts/render-permissions';

describe('docs/permissions.md', () => {
  it('is exactly the rendering of the table in code (run `tsx scripts/render-permissions.ts`)', () => {
    // Act
    const committed = readFileSync(PERMISSIONS_DOC, 'utf8');

    // Assess
    expect(committed).toBe(renderPermissions());
  });

  it('renders every group, permission, scope and route', () => {
    // Act
    const rendered = renderPermissions();

    // Assess
    for (const name of [
      ...GROUPS,
      ...PERMISSIONS,
      ...RESOURCE_SERVER_SCOPES.map((scope) => scope.fullName),
    ]) {
      expect(rendered).toContain(`\`${name}\``);
    }
    const lines = rendered.split('\n');
    for (const route of ROUTES) {
      const found = lines.some(
        (line) => line.startsWith(`| ${route.method} `) && line.includes(`| \`${route.pattern}\` `),
      );
      expect(found, `${route.method} ${route.pattern}`).toBe(true);
    }
  });
});
