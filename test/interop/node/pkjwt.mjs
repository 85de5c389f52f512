// openid-client (npm, v6), unchanged, authenticates with private_key_jwt
// (its PrivateKeyJwt client authentication) against a real gatehouse
// server, for every algorithm, with and without a kid; a key the server
// does not know is refused. Driven by test/interop/node_test.go through the
// environment; exits non-zero on the first failure with a one-line reason.
import * as client from 'openid-client'
import * as jose from 'jose'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is not set`)
  return v
}
const issuer = env('GATEHOUSE_ISSUER')
// [{client_id, alg, pkcs8, kid, aud}]
const clients = JSON.parse(env('GATEHOUSE_PKJWT_CLIENTS'))
const stranger = JSON.parse(env('GATEHOUSE_PKJWT_STRANGER')) // {pkcs8, alg}

function check(cond, msg) {
  if (!cond) throw new Error(msg)
}

const jwksCache = {}
const results = []
for (const c of clients) {
  const key = await jose.importPKCS8(c.pkcs8, c.alg)
  for (const [name, auth] of [['kid', client.PrivateKeyJwt({ key, kid: c.kid })], ['no kid', client.PrivateKeyJwt(key)]]) {
    const config = await client.discovery(new URL(issuer), c.client_id, undefined, auth, { execute: [client.allowInsecureRequests] })
    const meta = config.serverMetadata()
    check(meta.token_endpoint_auth_methods_supported.includes('private_key_jwt'), `discovery lacks private_key_jwt: ${JSON.stringify(meta.token_endpoint_auth_methods_supported)}`)
    check(meta.token_endpoint_auth_signing_alg_values_supported.includes(c.alg), `discovery lacks ${c.alg}`)
    const tr = await client.clientCredentialsGrant(config, { audience: c.aud })
    jwksCache.jwks ??= jose.createRemoteJWKSet(new URL(meta.jwks_uri))
    const v = await jose.jwtVerify(tr.access_token, jwksCache.jwks, { issuer, audience: c.aud })
    check(v.payload.client_id === c.client_id, `${c.alg} ${name}: claims ${JSON.stringify(v.payload)}`)
    results.push(`${c.alg}/${name}`)
  }
}

// A key the server does not know: openid-client surfaces invalid_client.
const c = clients[0]
const strangerKey = await jose.importPKCS8(stranger.pkcs8, stranger.alg)
const config = await client.discovery(new URL(issuer), c.client_id, undefined, client.PrivateKeyJwt(strangerKey), { execute: [client.allowInsecureRequests] })
let refused = ''
try {
  await client.clientCredentialsGrant(config, { audience: c.aud })
} catch (e) {
  refused = e.error || e.code || String(e)
}
check(refused === 'invalid_client', `an unknown key got ${refused || 'a token'}`)
results.push('stranger refused')
console.log(JSON.stringify(results))
