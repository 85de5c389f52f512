// oauth4webapi's revocation (RFC 7009) and introspection (RFC 7662, RFC
// 9701 JWT answers) against a real gatehouse server: discovery names both
// endpoints; a resource server introspects a client's token, as JSON and as
// a signed JWT whose signature verifies against the JWKS; another client's
// revocation is refused; the owner's revocation makes the token inactive.
// Driven by test/interop/revocation_test.go; exits non-zero on the first
// failure with a one-line reason.
import * as oauth from 'oauth4webapi'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is not set`)
  return v
}
const issuer = env('GATEHOUSE_ISSUER')
const aud = env('GATEHOUSE_AUDIENCE')
const [owner, thief, rs] = ['OWNER', 'THIEF', 'RS'].map((who) => ({
  client: { client_id: env(`GATEHOUSE_${who}_ID`) },
  auth: oauth.ClientSecretBasic(env(`GATEHOUSE_${who}_SECRET`)),
}))
const insecure = { [oauth.allowInsecureRequests]: true }
const check = (cond, msg) => {
  if (!cond) throw new Error(msg)
}

const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure))
check(as.revocation_endpoint && as.introspection_endpoint, `discovery: ${JSON.stringify(as)}`)

const tr = await oauth.processClientCredentialsResponse(as, owner.client,
  await oauth.clientCredentialsGrantRequest(as, owner.client, owner.auth, new URLSearchParams({ audience: aud }), insecure))
const token = tr.access_token

async function introspect(jwt) {
  const resp = await oauth.introspectionRequest(as, rs.client, rs.auth, token, { ...insecure, requestJwtResponse: jwt })
  const answer = await oauth.processIntrospectionResponse(as, rs.client, resp)
  if (jwt) await oauth.validateApplicationLevelSignature(as, resp, insecure)
  return answer
}

let a = await introspect(false)
check(a.active === true && a.client_id === owner.client.client_id && a.aud === aud && a.token_type === 'Bearer', `introspection: ${JSON.stringify(a)}`)
a = await introspect(true)
check(a.active === true && a.client_id === owner.client.client_id, `JWT introspection: ${JSON.stringify(a)}`)

try {
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, thief.client, thief.auth, token, insecure))
  throw new Error('another client revoked the token')
} catch (err) {
  check(err instanceof oauth.ResponseBodyError && err.error === 'unauthorized_client', `another client's revocation: ${err}`)
}
check((await introspect(false)).active === true, 'the token is inactive after another client tried to revoke it')

await oauth.processRevocationResponse(await oauth.revocationRequest(as, owner.client, owner.auth, token, insecure))
a = await introspect(false)
check(a.active === false && Object.keys(a).length === 1, `after revocation: ${JSON.stringify(a)}`)
check((await introspect(true)).active === false, 'JWT introspection after revocation')
console.log(JSON.stringify({ ok: ['discovery', 'introspection', 'jwt introspection', 'revocation refused to another client', 'revoked'] }))
