// oauth4webapi, a strict OAuth 2.1 / OpenID Connect relying party, runs the
// Authorization Code flow with PKCE against a real gatehouse server: it
// checks the discovery document, the authorization response (state and
// RFC 9207 iss), the token response and the ID token (nonce, at_hash,
// auth_time with max_age, the signature against the JWKS), userinfo, and a
// refresh; once as a confidential web client, once as a public SPA client
// (token_endpoint_auth_method none). The login and consent forms are
// answered with plain HTTP and a cookie jar. Run by
// test/interop/login_rp_test.go; exits non-zero on the first failure.
import * as oauth from 'oauth4webapi'
import * as jose from 'jose'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is not set`)
  return v
}
const issuer = env('GATEHOUSE_ISSUER')
const audience = env('GATEHOUSE_AUDIENCE')
const email = env('LOGIN_EMAIL')
const password = env('LOGIN_PASSWORD')
const clients = JSON.parse(env('LOGIN_CLIENTS')) // [{name, client_id, client_secret?, redirect_uri}]
const insecure = { [oauth.allowInsecureRequests]: true }
const check = (cond, msg) => { if (!cond) throw new Error(msg) }

const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure))
check(as.authorization_response_iss_parameter_supported === true, 'iss parameter not advertised')
check(JSON.stringify(as.code_challenge_methods_supported) === '["S256"]', `PKCE methods ${as.code_challenge_methods_supported}`)
const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri))

// A browser's worth of HTTP: cookies kept per name, redirects followed
// until they leave the issuer.
function browser() {
  const jar = new Map()
  const send = async (url, init = {}) => {
    const headers = new Headers(init.headers)
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
    const r = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const i = pair.indexOf('=')
      jar.set(pair.slice(0, i), pair.slice(i + 1))
    }
    return r
  }
  const follow = async (url, init) => {
    let r = await send(url, init)
    while (r.status >= 300 && r.status < 400) {
      const to = new URL(r.headers.get('location'), url)
      if (!to.href.startsWith(issuer.replace(/\/$/, ''))) return { to }
      url = to.href
      r = await send(url)
    }
    return { page: await r.text(), status: r.status }
  }
  const submit = (page, path, fields) => {
    const form = new URLSearchParams()
    for (const m of page.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) {
      form.set(m[1], m[2].replaceAll('&amp;', '&').replaceAll('&#43;', '+').replaceAll('&#34;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>'))
    }
    for (const [k, v] of Object.entries(fields)) form.set(k, v)
    return follow(issuer.replace(/\/$/, '') + path, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(issuer).origin } })
  }
  return { follow, submit }
}

for (const c of clients) {
  const client = { client_id: c.client_id }
  const auth = c.client_secret ? oauth.ClientSecretPost(c.client_secret) : oauth.None()
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const url = new URL(as.authorization_endpoint)
  url.search = new URLSearchParams({
    response_type: 'code', client_id: c.client_id, redirect_uri: c.redirect_uri, scope: 'openid profile email offline_access read',
    state, nonce, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    audience, max_age: '300',
  })
  const b = browser()
  let r = await b.follow(url.href)
  check(r.page && r.page.includes('<label for="email">Email</label>'), `${c.name}: no login page (${r.status})`)
  r = await b.submit(r.page, '/authorize/login', { email, password })
  if (!r.to && r.page.includes('>Allow</button>')) r = await b.submit(r.page, '/authorize/consent', { decision: 'allow' })
  check(r.to, `${c.name}: not sent back to the client: ${r.status} ${r.page?.slice(0, 200)}`)
  const params = oauth.validateAuthResponse(as, client, r.to, state) // checks iss (RFC 9207) and state
  const resp = await oauth.authorizationCodeGrantRequest(as, client, auth, params, c.redirect_uri, verifier, insecure)
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, resp, { expectedNonce: nonce, maxAge: 300, requireIdToken: true })
  check(tokens.refresh_token && tokens.token_type === 'bearer', `${c.name}: token response ${JSON.stringify(Object.keys(tokens))}`)
  const claims = oauth.getValidatedIdTokenClaims(tokens)
  const signed = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: c.client_id, algorithms: ['RS256'] })
  check(signed.payload.sub === claims.sub && claims.email === email && typeof claims.auth_time === 'number', `${c.name}: ID token ${JSON.stringify(claims)}`)
  const ui = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, insecure))
  check(ui.email === email, `${c.name}: userinfo ${JSON.stringify(ui)}`)
  const at = await oauth.validateJwtAccessToken(as, new Request('http://api.invalid/', { headers: { authorization: `Bearer ${tokens.access_token}` } }), audience, insecure)
  check(at.sub === claims.sub && at.client_id === c.client_id, `${c.name}: access token ${JSON.stringify(at)}`)
  const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure))
  check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, `${c.name}: refresh did not rotate`)
  // The rotated token again: refused, and the family with it.
  let reuse
  try { await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure)) } catch (e) { reuse = e }
  check(reuse?.error === 'invalid_grant', `${c.name}: reused refresh token: ${reuse}`)
  console.log(JSON.stringify({ client: c.name, ok: ['login', 'iss', 'pkce', 'id_token', 'userinfo', 'access_token', 'refresh', 'reuse refused'] }))
}
