// openid-client (npm, v6) against a real gatehouse serving mutual TLS
// (RFC 8705): client credentials through the mtls_endpoint_aliases token
// endpoint with a client certificate presented by Node's https agent (as
// openid-client's customFetch), the token bound to it (cnf.x5t#S256); a
// client with certificate-bound tokens refused without a certificate.
// Driven by test/interop/node_mtls_test.go through the environment; exits
// non-zero on the first failure with a one-line reason.
import * as client from 'openid-client'
import https from 'node:https'
import { X509Certificate, createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is not set`)
  return v
}
const issuer = new URL(env('GATEHOUSE_ISSUER'))
const ca = readFileSync(env('GATEHOUSE_SERVER_CA'))
const cert = readFileSync(env('GATEHOUSE_CLIENT_CERT'))
const key = readFileSync(env('GATEHOUSE_CLIENT_KEY'))
const audience = env('GATEHOUSE_AUDIENCE')
const method = env('GATEHOUSE_AUTH_METHOD') // client_secret_post or tls_client_auth

function check(cond, msg) {
  if (!cond) throw new Error(msg)
}

// httpsFetch is a Fetch API over node:https with agent: openid-client's
// customFetch for a client certificate (Node's own fetch takes no agent).
function httpsFetch(agent) {
  return (url, options = {}) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(options.headers).entries())
      const req = https.request(new URL(url), { method: options.method || 'GET', headers, agent, timeout: 10000 }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const h = new Headers()
          for (const [k, v] of Object.entries(res.headers)) for (const x of [].concat(v)) h.append(k, x)
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: h }))
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.end(options.body == null ? undefined : String(options.body))
    })
}

const withCert = httpsFetch(new https.Agent({ ca, cert, key }))
const withoutCert = httpsFetch(new https.Agent({ ca }))
const x5t = createHash('sha256').update(new X509Certificate(cert).raw).digest('base64url')

function claims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

async function configure(fetchImpl, aliases) {
  const clientAuth = method === 'tls_client_auth' ? client.TlsClientAuth() : client.ClientSecretPost(env('GATEHOUSE_CLIENT_SECRET'))
  return client.discovery(issuer, env('GATEHOUSE_CLIENT_ID'), { use_mtls_endpoint_aliases: aliases }, clientAuth, {
    [client.customFetch]: fetchImpl,
  })
}

const config = await configure(withCert, true)
const meta = config.serverMetadata()
check(meta.tls_client_certificate_bound_access_tokens === true, `metadata: tls_client_certificate_bound_access_tokens ${meta.tls_client_certificate_bound_access_tokens}`)
check(meta.mtls_endpoint_aliases?.token_endpoint && meta.mtls_endpoint_aliases.token_endpoint !== meta.token_endpoint,
  `metadata: mtls_endpoint_aliases ${JSON.stringify(meta.mtls_endpoint_aliases)}`)
const tr = await client.clientCredentialsGrant(config, { audience })
check(tr.token_type === 'bearer', `token_type ${tr.token_type}`)
const c = claims(tr.access_token)
check(c.cnf?.['x5t#S256'] === x5t, `cnf ${JSON.stringify(c.cnf)}, want x5t#S256 ${x5t}`)
console.log(JSON.stringify({ check: 'bound token', method, x5t }))

// Without a certificate, on the main token endpoint: refused.
const bare = await configure(withoutCert, false)
try {
  await client.clientCredentialsGrant(bare, { audience })
  check(false, 'a token without a certificate')
} catch (err) {
  const code = err.error || err.cause?.error
  check(code === 'invalid_request' || code === 'invalid_client', `without a certificate: ${err.message} ${code}`)
}
console.log(JSON.stringify({ check: 'refused without a certificate', method }))
