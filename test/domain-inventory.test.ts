// The inventory domain without a database: visibility, the resource and project filters, the resource order
// and argument checks, with the errors GraphQL and REST map (InvalidArgumentError, ForbiddenError).
import { describe, expect, it } from 'vitest';
import type { Viewer } from '../src/auth.js';
import { escapeLike, parseId, parseTenantId, textArg } from '../src/domain/arguments.js';
import { ForbiddenError, InvalidArgumentError } from '../src/domain/errors.js';
import { projectWhere, resourceOrder, resourceWhere } from '../src/domain/inventory.js';
import { canSeeTenant, resourceVisibility, visibleTenant } from '../src/domain/visibility.js';

const admin: Viewer = { subject: 'a', admin: true, tenantId: null, expiresAt: null };
const acme: Viewer = { subject: 'b', admin: false, tenantId: 'acme', expiresAt: null };
const nobody: Viewer = { subject: 'c', admin: false, tenantId: null, expiresAt: null };

describe('visibility', () => {
  it('gives an admin every tenant, a tenant its own, anyone else nothing', () => {
    expect(visibleTenant(admin)).toBeUndefined();
    expect(visibleTenant(acme)).toBe('acme');
    expect(visibleTenant(nobody)).toBeNull();
    expect(visibleTenant(null)).toBeNull();
    expect(resourceVisibility(admin)).toEqual({});
    expect(resourceVisibility(acme)).toEqual({ tenantId: 'acme' });
    expect(resourceVisibility(nobody)).toEqual({ id: { in: [] } });
    expect(canSeeTenant(acme, 'acme')).toBe(true);
    expect(canSeeTenant(acme, 'globex')).toBe(false);
    expect(canSeeTenant(acme, null)).toBe(false);
    expect(canSeeTenant(admin, null)).toBe(true);
  });
});

describe('resourceWhere', () => {
  it('combines the filter with what the viewer may see', () => {
    expect(resourceWhere(null, acme)).toEqual({ tenantId: 'acme' });
    expect(resourceWhere({ kind: [' droplet ', 'volume'], state: 'LIVE', search: '50%' }, acme)).toEqual({
      AND: [
        { tenantId: 'acme' },
        { kind: { in: ['droplet', 'volume'] } },
        { staleAt: null },
        { OR: [{ name: { contains: '50\\%', mode: 'insensitive' } }, { providerId: '50%' }] },
      ],
    });
    expect(resourceWhere({ state: 'ALL', projectId: '7', unattributed: false }, admin)).toEqual({
      AND: [{}, { cloudProjectId: 7 }, { OR: [{ cloudProjectId: { not: null } }, { tenantId: { not: null } }] }],
    });
  });

  it('refuses bad values naming the argument, and another tenant with ForbiddenError', () => {
    expect(() => resourceWhere({ search: '  ' }, admin)).toThrow(InvalidArgumentError);
    expect(() => resourceWhere({ search: '  ' }, admin)).toThrow(
      expect.objectContaining({ message: 'filter.search must not be empty', argument: 'filter.search' }),
    );
    expect(() => resourceWhere({ kind: Array.from({ length: 51 }, () => 'droplet') }, admin)).toThrow(
      expect.objectContaining({
        message: 'filter.kind may list at most 50 values',
        argument: 'filter.kind',
      }),
    );
    expect(() => resourceWhere({ projectId: 'x' }, admin)).toThrow(
      expect.objectContaining({ argument: 'filter.projectId' }),
    );
    expect(() => resourceWhere({ tenantId: 'globex' }, acme)).toThrow(ForbiddenError);
    expect(resourceWhere({ tenantId: 'acme' }, acme)).toEqual({ AND: [{ tenantId: 'acme' }, { tenantId: 'acme' }] });
    expect(resourceWhere({ tenantId: 'globex' }, admin)).toEqual({ AND: [{}, { tenantId: 'globex' }] });
  });
});

describe('projectWhere', () => {
  it('filters by tenant, assignment, name and staleness within what the viewer sees', () => {
    expect(projectWhere({ unassigned: true, includeStale: false, search: 'web_' }, admin)).toEqual({
      AND: [{}, { tenantId: null }, { name: { contains: 'web\\_', mode: 'insensitive' } }, { staleAt: null }],
    });
    expect(() => projectWhere({ tenantId: 'globex' }, acme)).toThrow(ForbiddenError);
    expect(() => projectWhere({ tenantId: '-bad' }, admin)).toThrow(
      expect.objectContaining({ argument: 'filter.tenantId' }),
    );
  });
});

describe('resourceOrder', () => {
  it('is total (the id breaks ties) with nulls last on nullable columns', () => {
    expect(resourceOrder(null)).toEqual([{ id: 'asc' }]);
    expect(resourceOrder({ field: 'name', direction: 'DESC' })).toEqual([
      { name: { sort: 'desc', nulls: 'last' } },
      { id: 'desc' },
    ]);
    expect(resourceOrder({ field: 'firstSeenAt' })).toEqual([{ firstSeenAt: 'asc' }, { id: 'asc' }]);
  });
});

describe('arguments', () => {
  it('parses ids, tenant ids and bounded text', () => {
    expect(parseId(' 42 ', 'id')).toBe(42);
    for (const bad of ['0', '-1', '1.5', 'abc', '2147483648'])
      expect(() => parseId(bad, 'id')).toThrow(InvalidArgumentError);
    expect(parseTenantId(' acme:eu ', 'tenantId')).toBe('acme:eu');
    expect(() => textArg('x'.repeat(201), 'tag')).toThrow(
      expect.objectContaining({ message: 'tag must be at most 200 characters', argument: 'tag' }),
    );
    expect(escapeLike('a\\b%c_d')).toBe('a\\\\b\\%c\\_d');
  });
});
