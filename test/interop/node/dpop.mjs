// DPoP (RFC 9449) with clients nobody here wrote, against a real gatehouse
// server that requires server nonces and an API that requires DPoP:
// openid-client (client credentials with a DPoP handle, nonce retry
// included; fetchProtectedResource against an API protected by package
// verify) and oauth4webapi (its own DPoP handle and nonce error). Driven by
// test/interop/node_dpop_test.go through the environment; exits non-zero
// on the first failure with a one-line reason.
import * as client from 'openid-client'
import * as oauth from 'oauth4webapi'
import * as jose from 'jose'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is not set`)
  return v
}
const issuer = env('GATEHOUSE_ISSUER')
const clientId = env('GATEHOUSE_CLIENT_ID')
const secret = env('GATEHOUSE_CLIENT_SECRET')
const aud = env('GATEHOUSE_AUDIENCE')
const apiURL = env('GATEHOUSE_API_URL')

function check(cond, msg) {
  if (!cond) throw new Error(msg)
}

const results = []

// openid-client.
const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretPost(secret), {
  execute: [client.allowInsecureRequests],
})
const algs = config.serverMetadata().dpop_signing_alg_values_supported || []
check(algs.includes('ES256') && !algs.includes('HS256') && !algs.includes('none'), `dpop_signing_alg_values_supported ${algs}`)
const keyPair = await client.randomDPoPKeyPair('ES256')
const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey))
const DPoP = client.getDPoPHandle(config, keyPair)
const tokens = await client.clientCredentialsGrant(config, { audience: aud }, { DPoP }) // the server's nonce: one retry
check(tokens.token_type === 'dpop', `openid-client token_type ${tokens.token_type}`)
const claims = jose.decodeJwt(tokens.access_token)
check(claims.cnf && claims.cnf.jkt === jkt, `cnf ${JSON.stringify(claims.cnf)}, want jkt ${jkt}`)
results.push('openid-client bound token')

let refused = false
try {
  await client.clientCredentialsGrant(config, { audience: aud })
} catch (err) {
  refused = err.error === 'invalid_request' && /requires DPoP/.test(err.error_description)
  check(refused, `bearer request: ${err.error} ${err.error_description}`)
}
check(refused, 'a bearer token was issued for an API that requires DPoP')
results.push('bearer refused')

const resp = await client.fetchProtectedResource(config, tokens.access_token, new URL(apiURL), 'GET', undefined, undefined, { DPoP })
check(resp.status === 200 && (await resp.text()) === jkt, `API with DPoP: ${resp.status}`)
results.push('openid-client API call')

const asBearer = await fetch(apiURL, { headers: { authorization: `Bearer ${tokens.access_token}` } })
const challenge = asBearer.headers.get('www-authenticate') || ''
check(asBearer.status === 401 && challenge.startsWith('DPoP ') && challenge.includes('error="invalid_token"'), `bound token as Bearer: ${asBearer.status} ${challenge}`)
const other = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
// openid-client turns the API's challenge into an error (RFC 9449 §7.1).
let challenged = ''
try {
  const r = await client.fetchProtectedResource(config, tokens.access_token, new URL(apiURL), 'GET', undefined, undefined, { DPoP: other })
  challenged = `answered ${r.status}`
} catch (err) {
  const ch = (err.cause || [])[0] || {}
  challenged = `${err.status} ${ch.scheme} ${ch.parameters && ch.parameters.error}`
}
check(challenged === '401 dpop invalid_dpop_proof', `proof of another key: ${challenged}`)
results.push('stolen token refused')

// oauth4webapi, with its own DPoP handle and nonce error.
const insecure = { [oauth.allowInsecureRequests]: true }
const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure))
const c = { client_id: clientId }
const handle = oauth.DPoP(c, await oauth.generateKeyPair('ES256'))
const params = new URLSearchParams({ audience: aud })
const request = () => oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(secret), params, { DPoP: handle, ...insecure })
let tr
try {
  tr = await oauth.processClientCredentialsResponse(as, c, await request())
} catch (err) {
  check(oauth.isDPoPNonceError(err), `oauth4webapi first request: ${err}`)
  tr = await oauth.processClientCredentialsResponse(as, c, await request()) // the handle kept the nonce
}
check(tr.token_type === 'dpop' && tr.access_token, `oauth4webapi token ${JSON.stringify(tr)}`)
results.push('oauth4webapi bound token')

console.log(JSON.stringify(results))
