// Auth0's own Node SDK (npm "auth0") against a real gatehouse: the
// ManagementClient creates a resource server, a client and a client grant
// and rotates the client's secret; the new client then gets a token through
// the AuthenticationClient, which jose verifies against the JWKS; then roles
// and permissions (roles.*, users.assignRoles, users.getPermissions) and a
// grant for people. Run by
// TestAuth0ManagementSDK with GATEHOUSE_ISSUER, GATEHOUSE_ADMIN_ID and
// GATEHOUSE_ADMIN_SECRET; prints one JSON line per step.
import { ManagementClient, AuthenticationClient, ManagementApiError } from 'auth0';
import * as jose from 'jose';

const issuer = process.env.GATEHOUSE_ISSUER;
const base = new URL(issuer);
const domain = base.host;
const audience = issuer.replace(/\/+$/, '') + '/api/v2/';

// The SDK builds https://DOMAIN/... URLs and takes a custom fetch (its
// documented `fetch` option); the test server speaks plain HTTP on
// loopback, so this fetch sends the SDK's requests there unchanged but for
// the scheme.
const calls = [];
function fetchLocal(url, init) {
  if (typeof url !== 'string') throw new Error(`the SDK passed a ${typeof url} to fetch`);
  const u = new URL(url);
  if (u.protocol !== 'https:' || u.host !== domain) throw new Error(`unexpected URL ${url}`);
  u.protocol = 'http:';
  calls.push(`${init?.method ?? 'GET'} ${u.pathname}`);
  return fetch(u, init);
}

function step(name, detail = {}) {
  console.log(JSON.stringify({ step: name, ...detail }));
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function expectError(promise, status, code, what) {
  try {
    await promise;
  } catch (e) {
    const got = e instanceof ManagementApiError ? [e.statusCode, e.errorCode] : [e.statusCode ?? e.status, e.error ?? e.body];
    check(got[0] === status && (code === undefined || got[1] === code), `${what}: got ${JSON.stringify(got)} (${e.message}), want ${status} ${code}`);
    return e;
  }
  throw new Error(`${what}: no error`);
}

// Token requests may race the server's catalog (it sees a change within a
// second): retry until it answers, for a few seconds.
async function eventually(fn, what) {
  let last;
  for (let i = 0; i < 50; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what}: ${last?.message ?? last}`);
}

const mgmt = new ManagementClient({
  domain,
  audience,
  clientId: process.env.GATEHOUSE_ADMIN_ID,
  clientSecret: process.env.GATEHOUSE_ADMIN_SECRET,
  fetch: fetchLocal,
});

const identifier = `https://orders-${Date.now()}.sdk.test`;
const rs = (await mgmt.resourceServers.create({
  name: 'Orders',
  identifier,
  scopes: [{ value: 'read:orders', description: 'Read orders' }, { value: 'write:orders', description: 'Write orders' }],
  signing_alg: 'ES256',
  token_lifetime: 3600,
  token_dialect: 'rfc9068_profile',
})).data;
check(rs.identifier === identifier && rs.signing_alg === 'ES256' && rs.token_lifetime === 3600 && rs.token_dialect === 'rfc9068_profile' && rs.id, `resource server ${JSON.stringify(rs)}`);
const byId = (await mgmt.resourceServers.get({ id: rs.id })).data;
check(byId.identifier === identifier, 'resource server by id');
await expectError(mgmt.resourceServers.create({ identifier }), 409, 'resource_server_conflict', 'duplicate resource server');
step('resource server created', { id: rs.id });

const created = (await mgmt.clients.create({
  name: 'made by the auth0 sdk',
  app_type: 'non_interactive',
  grant_types: ['client_credentials'],
  token_endpoint_auth_method: 'client_secret_post',
  client_metadata: { made_by: 'auth0-sdk' },
})).data;
check(created.client_id && created.client_secret && created.client_metadata.made_by === 'auth0-sdk', `client ${JSON.stringify(created)}`);
const fetched = (await mgmt.clients.get({ client_id: created.client_id })).data;
check(fetched.name === 'made by the auth0 sdk' && fetched.client_secret === undefined, 'client read back without its secret');
const renamed = (await mgmt.clients.update({ client_id: created.client_id }, { description: 'renamed by the sdk' })).data;
check(renamed.description === 'renamed by the sdk', 'client update');
step('client created', { client_id: created.client_id });

const grant = (await mgmt.clientGrants.create({ client_id: created.client_id, audience: identifier, scope: ['read:orders'] })).data;
check(grant.id && grant.audience === identifier && grant.scope.join(' ') === 'read:orders', `grant ${JSON.stringify(grant)}`);
await expectError(mgmt.clientGrants.create({ client_id: created.client_id, audience: identifier, scope: [] }), 409, 'client_grant_conflict', 'second grant');
const listed = (await mgmt.clientGrants.getAll({ audience: identifier })).data;
check(listed.length === 1 && listed[0].id === grant.id, `grants by audience ${JSON.stringify(listed)}`);
// Updates through the SDK: the API's token lifetime, the grant's scopes.
const longer = (await mgmt.resourceServers.update({ id: rs.id }, { token_lifetime: 1800 })).data;
check(longer.token_lifetime === 1800 && longer.identifier === identifier, `updated resource server ${JSON.stringify(longer)}`);
const widened = (await mgmt.clientGrants.update({ id: grant.id }, { scope: ['read:orders', 'write:orders'] })).data;
check(widened.scope.join(' ') === 'read:orders write:orders', `updated grant ${JSON.stringify(widened)}`);
const page = (await mgmt.clients.getAll({ page: 0, per_page: 1, include_totals: true })).data;
check(page.total >= 2 && page.clients.length === 1 && page.limit === 1 && page.start === 0, `paged clients ${JSON.stringify(page)}`);
step('grant created', { id: grant.id });

const tokenFor = (clientSecret) => new AuthenticationClient({ domain, clientId: created.client_id, clientSecret, fetch: fetchLocal })
  .oauth.clientCredentialsGrant({ audience: identifier });
// The first secret works, then rotation replaces it at once.
await eventually(() => tokenFor(created.client_secret), 'token with the first secret');
const rotated = (await mgmt.clients.rotateClientSecret({ client_id: created.client_id })).data;
check(rotated.client_secret && rotated.client_secret !== created.client_secret && rotated.client_id === created.client_id, 'rotated secret');
step('secret rotated');

const tok = (await eventually(() => tokenFor(rotated.client_secret), 'token with the rotated secret')).data;
// The updates were made before the rotation, so a server that knows the new
// secret knows them too.
check(tok.token_type === 'Bearer' && tok.expires_in === 1800 && tok.scope === 'read:orders write:orders', `token response ${JSON.stringify({ ...tok, access_token: '…' })}`);
const jwks = jose.createRemoteJWKSet(new URL(issuer.replace(/\/+$/, '') + '/.well-known/jwks.json'));
const { payload, protectedHeader } = await jose.jwtVerify(tok.access_token, jwks, { issuer, audience: identifier, typ: 'at+jwt', algorithms: ['ES256'] });
check(payload.client_id === created.client_id && payload.scope === 'read:orders write:orders' && payload.exp - payload.iat === 1800, `claims ${JSON.stringify(payload)}`);
step('token issued', { alg: protectedHeader.alg, typ: protectedHeader.typ });
await expectError(tokenFor(created.client_secret), 401, undefined, 'the secret replaced by rotate-secret');
step('old secret refused');

// The new client has no grant for the management API: its token request
// for it is refused, and a management call without a token is a 401.
const outsider = new ManagementClient({ domain, audience, clientId: created.client_id, clientSecret: rotated.client_secret, fetch: fetchLocal });
await expectError(outsider.clients.getAll(), 403, undefined, 'management token for a client without the grant');
const anonymous = new ManagementClient({ domain, token: 'not-a-token', fetch: fetchLocal });
await expectError(anonymous.clients.getAll(), 401, 'invalid_token', 'a bad token');
step('refusals', { calls: calls.length });

// Roles and permissions (Auth0's RBAC) through the SDK: the API enforces
// policies in the _authz dialect, a role holds read:orders, a user holds the
// role and write:orders directly, and a login client gets a grant for
// people (subject_type user).
const rbac = (await mgmt.resourceServers.update({ id: rs.id }, {
  enforce_policies: true, token_dialect: 'rfc9068_profile_authz', subject_type_authorization: { user: { policy: 'require_client_grant' } },
})).data;
check(rbac.enforce_policies === true && rbac.token_dialect === 'rfc9068_profile_authz' && rbac.subject_type_authorization.user.policy === 'require_client_grant'
  && rbac.subject_type_authorization.client.policy === 'require_client_grant', `RBAC resource server ${JSON.stringify(rbac)}`);
const role = (await mgmt.roles.create({ name: `orders-reader-${Date.now()}`, description: 'reads orders' })).data;
check(role.id && role.description === 'reads orders', `role ${JSON.stringify(role)}`);
await mgmt.roles.addPermissions({ id: role.id }, { permissions: [{ resource_server_identifier: identifier, permission_name: 'read:orders' }] });
const rolePerms = (await mgmt.roles.getPermissions({ id: role.id })).data;
check(rolePerms.length === 1 && rolePerms[0].permission_name === 'read:orders' && rolePerms[0].resource_server_name === 'Orders', `role permissions ${JSON.stringify(rolePerms)}`);
const person = (await mgmt.users.create({ connection: 'Username-Password-Authentication', email: `reader-${Date.now()}@sdk.test`, password: 'a long enough passphrase' })).data;
await mgmt.users.assignRoles({ id: person.user_id }, { roles: [role.id] });
await mgmt.users.assignPermissions({ id: person.user_id }, { permissions: [{ resource_server_identifier: identifier, permission_name: 'write:orders' }] });
const held = (await mgmt.users.getPermissions({ id: person.user_id })).data;
const sources = Object.fromEntries(held.map((p) => [p.permission_name, p.sources.map((s) => s.source_type).join(' ')]));
check(held.length === 2 && sources['read:orders'] === 'ROLE' && sources['write:orders'] === 'DIRECT', `user permissions ${JSON.stringify(held)}`);
const personRoles = (await mgmt.users.getRoles({ id: person.user_id })).data;
check(personRoles.length === 1 && personRoles[0].id === role.id, `user roles ${JSON.stringify(personRoles)}`);
const members = (await mgmt.roles.getUsers({ id: role.id })).data;
check(members.length === 1 && members[0].user_id === person.user_id, `role users ${JSON.stringify(members)}`);
const web = (await mgmt.clients.create({ name: 'login app', app_type: 'regular_web', callbacks: ['http://127.0.0.1:1/cb'] })).data;
const peopleGrant = (await mgmt.clientGrants.create({ client_id: web.client_id, audience: identifier, scope: ['read:orders'], subject_type: 'user' })).data;
check(peopleGrant.subject_type === 'user', `user grant ${JSON.stringify(peopleGrant)}`);
const usersOnly = (await mgmt.clientGrants.getAll({ audience: identifier, subject_type: 'user' })).data;
check(usersOnly.length === 1 && usersOnly[0].id === peopleGrant.id, `user grants ${JSON.stringify(usersOnly)}`);
await expectError(mgmt.roles.addPermissions({ id: role.id }, { permissions: [{ resource_server_identifier: identifier, permission_name: 'delete:orders' }] }),
  400, 'invalid_body', 'a permission the API does not define');
await mgmt.users.deleteRoles({ id: person.user_id }, { roles: [role.id] });
await mgmt.users.deletePermissions({ id: person.user_id }, { permissions: [{ resource_server_identifier: identifier, permission_name: 'write:orders' }] });
check((await mgmt.users.getPermissions({ id: person.user_id })).data.length === 0, 'permissions after removal');
await mgmt.roles.delete({ id: role.id });
await expectError(mgmt.roles.get({ id: role.id }), 404, 'inexistent_role', 'deleted role');
await mgmt.clientGrants.delete({ id: peopleGrant.id });
await mgmt.clients.delete({ client_id: web.client_id });
step('roles and permissions');

await mgmt.clientGrants.delete({ id: grant.id });
await mgmt.clients.delete({ client_id: created.client_id });
await mgmt.resourceServers.delete({ id: rs.id });
await expectError(mgmt.clients.get({ client_id: created.client_id }), 404, 'inexistent_client', 'deleted client');
step('cleaned up');
