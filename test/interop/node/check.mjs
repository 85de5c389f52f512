// Strict third-party JavaScript peers against a real gatehouse server:
// oauth4webapi (discovery, client credentials, RFC 9068 validation), jose
// (remote JWKS) and Auth0's express-oauth2-jwt-bearer middleware. Driven by
// test/interop/node_test.go through the environment; exits non-zero on the
// first failure with a one-line reason.
import * as oauth from 'oauth4webapi'
import * as jose from 'jose'
import express from 'express'
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is not set`)
  return v
}
const issuer = env('GATEHOUSE_ISSUER')
const clientId = env('GATEHOUSE_CLIENT_ID')
const secret = env('GATEHOUSE_CLIENT_SECRET')
// [{aud, alg, dialect, lifetime}]
const apis = JSON.parse(env('GATEHOUSE_APIS'))
const insecure = { [oauth.allowInsecureRequests]: true }

function check(cond, msg) {
  if (!cond) throw new Error(msg)
}

const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure))
check(as.issuer === issuer, `discovery issuer ${as.issuer}`)
const client = { client_id: clientId }

async function getToken(aud, authn) {
  const resp = await oauth.clientCredentialsGrantRequest(as, client, authn, new URLSearchParams({ audience: aud }), insecure)
  return oauth.processClientCredentialsResponse(as, client, resp)
}

// Auth0's middleware in front of a tiny API, as an API author would use it.
async function callAPI(aud, token, clockTolerance = 5) {
  const app = express()
  app.get('/x', auth({ issuerBaseURL: issuer, audience: aud, clockTolerance }), requiredScopes('read'), (req, res) => res.json({ sub: req.auth.payload.sub }))
  app.use((err, req, res, next) => res.set(err.headers || {}).status(err.status || 500).json({ error: err.code || err.message }))
  const srv = app.listen(0, '127.0.0.1')
  await new Promise((r) => srv.once('listening', r))
  try {
    const r = await fetch(`http://127.0.0.1:${srv.address().port}/x`, { headers: { authorization: `Bearer ${token}` } })
    return { status: r.status, body: await r.json(), challenge: r.headers.get('www-authenticate') || '' }
  } finally {
    srv.close()
  }
}

const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri))
const results = []
for (const api of apis) {
  for (const [name, authn] of [['client_secret_post', oauth.ClientSecretPost(secret)], ['client_secret_basic', oauth.ClientSecretBasic(secret)]]) {
    const tr = await getToken(api.aud, authn)
    check(tr.token_type === 'bearer' && tr.expires_in === api.lifetime && tr.scope === 'read', `${api.aud} ${name}: response ${JSON.stringify(tr)}`)
    const typ = api.dialect === 'auth0' ? 'JWT' : 'at+jwt'
    const v = await jose.jwtVerify(tr.access_token, jwks, { issuer, audience: api.aud, typ, algorithms: [api.alg] })
    const wantSub = api.dialect === 'auth0' ? `${clientId}@clients` : clientId
    check(v.payload.sub === wantSub && v.payload.client_id === clientId, `${api.aud}: claims ${JSON.stringify(v.payload)}`)
    if (api.dialect !== 'auth0') {
      const req = new Request('http://api.invalid/', { headers: { authorization: `Bearer ${tr.access_token}` } })
      await oauth.validateJwtAccessToken(as, req, api.aud, insecure)
    }
    const r = await callAPI(api.aud, tr.access_token)
    check(r.status === 200 && r.body.sub === wantSub, `${api.aud}: middleware answered ${r.status} ${JSON.stringify(r.body)}`)
    results.push(`${api.alg}/${api.dialect}/${name}`)
  }
}

// An expired token is refused by the middleware with an RFC 6750 challenge.
const short = apis.find((a) => a.lifetime <= 2)
if (short) {
  const tr = await getToken(short.aud, oauth.ClientSecretPost(secret))
  await new Promise((r) => setTimeout(r, (short.lifetime + 1.2) * 1000))
  const r = await callAPI(short.aud, tr.access_token, 0)
  check(r.status === 401 && r.challenge.includes('invalid_token'), `expired token: ${r.status} ${r.challenge}`)
  results.push('expired refused')
}

// Errors reach the client library as RFC 6749 error responses.
try {
  await getToken('https://unknown.interop.test', oauth.ClientSecretPost(secret))
  check(false, 'unknown audience accepted')
} catch (e) {
  check(e instanceof oauth.ResponseBodyError && e.error === 'invalid_target' && e.status === 400, `unknown audience: ${e}`)
}
try {
  await getToken(apis[0].aud, oauth.ClientSecretBasic(secret + 'x'))
  check(false, 'wrong secret accepted')
} catch (e) {
  // A 401 with a Basic challenge (RFC 6749 §5.2) surfaces as a challenge
  // error; its body is still the RFC 6749 error.
  check(e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401 && e.cause[0].scheme === 'basic', `wrong secret: ${e}`)
  const body = await e.response.json()
  check(body.error === 'invalid_client', `wrong secret body: ${JSON.stringify(body)}`)
}
console.log(JSON.stringify({ ok: results }))
