package dpop

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Names of RFC 9449.
const (
	// TypeProof is the proof's JOSE `typ` (RFC 9449 §4.2).
	TypeProof = "dpop+jwt"
	// Header is the request header that carries the proof (§4.1).
	Header = "DPoP"
	// NonceHeader carries a server's nonce (§8, §9).
	NonceHeader = "DPoP-Nonce"
	// Scheme is the Authorization scheme of a DPoP-bound token (§7.1).
	Scheme = "DPoP"
	// TokenType is the token_type of a DPoP-bound token response (§5).
	TokenType = "DPoP"
	// Error codes (§5, §7.1, §8).
	CodeInvalidProof = "invalid_dpop_proof"
	CodeUseNonce     = "use_dpop_nonce"
)

// Algorithms are the proof algorithms accepted: asymmetric only (RFC 9449
// §4.2 forbids `none` and symmetric ones); the order is the one advertised
// as dpop_signing_alg_values_supported.
var Algorithms = []string{"ES256", "PS256", "RS256", "EdDSA"}

// MaxProofSize is the longest proof accepted, in bytes.
const MaxProofSize = 8 << 10

// Defaults of [Config].
const (
	DefaultMaxAge        = time.Minute
	DefaultLeeway        = 5 * time.Second
	DefaultReplayEntries = 1 << 20
)

// The reasons a proof is refused; [Checker.Check] returns errors that wrap
// one of them. ErrUseNonce asks the client to retry with the nonce it is
// given (RFC 9449 §8); ErrReplayFull is the server's state, not the
// client's mistake; every other reason is invalid_dpop_proof.
var (
	ErrMissing     = errors.New("the DPoP proof is missing")
	ErrMalformed   = errors.New("the DPoP proof is malformed")
	ErrType        = errors.New(`the DPoP proof's typ is not "dpop+jwt"`)
	ErrAlgorithm   = errors.New("the DPoP proof is signed with an algorithm that is not allowed")
	ErrKey         = errors.New("the DPoP proof's jwk is not a public asymmetric key")
	ErrSignature   = errors.New("the DPoP proof's signature is invalid")
	ErrMethod      = errors.New("the DPoP proof is for another HTTP method (htm)")
	ErrURL         = errors.New("the DPoP proof is for another URL (htu)")
	ErrIssuedAt    = errors.New("the DPoP proof is too old or issued in the future (iat)")
	ErrReplay      = errors.New("the DPoP proof was already used (jti)")
	ErrTokenHash   = errors.New("the DPoP proof is for another access token (ath)")
	ErrKeyMismatch = errors.New("the DPoP proof is signed with another key than the token is bound to (jkt)")
	ErrUseNonce    = errors.New("the DPoP proof must carry the server's current nonce")
	ErrReplayFull  = errors.New("too many DPoP proofs in the replay window; retry later")
)

// Config configures a [Checker].
type Config struct {
	// MaxAge is how old a proof's iat may be (default DefaultMaxAge);
	// Leeway how far in the future (default DefaultLeeway). A proof is
	// remembered for MaxAge+Leeway, after which its iat is refused anyway.
	MaxAge, Leeway time.Duration
	// ReplayEntries bounds the replay cache (default DefaultReplayEntries,
	// about 36 MiB when full). When it is full of proofs still in their
	// window, new proofs are refused with ErrReplayFull: the cache never
	// forgets a proof that could still be replayed.
	ReplayEntries int
	// Nonces, when set, requires every proof to carry one of its nonces.
	Nonces *Nonces
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Checker checks proofs. It is safe for concurrent use; one per process
// (per verifier) shares one replay cache.
type Checker struct {
	maxAge, leeway time.Duration
	nonces         *Nonces
	now            func() time.Time
	replay         *replayCache
}

// NewChecker returns a Checker for cfg.
func NewChecker(cfg Config) *Checker {
	c := &Checker{maxAge: cfg.MaxAge, leeway: cfg.Leeway, nonces: cfg.Nonces, now: cfg.Now}
	if c.maxAge <= 0 {
		c.maxAge = DefaultMaxAge
	}
	if c.leeway <= 0 {
		c.leeway = DefaultLeeway
	}
	if c.now == nil {
		c.now = time.Now
	}
	if cfg.ReplayEntries <= 0 {
		cfg.ReplayEntries = DefaultReplayEntries
	}
	c.replay = newReplayCache(cfg.ReplayEntries, c.maxAge+c.leeway)
	return c
}

// Nonces returns the checker's nonce source, nil when nonces are not
// required.
func (c *Checker) Nonces() *Nonces { return c.nonces }

// Expect is what a proof must match.
type Expect struct {
	// Method and URL are the request's (htm, htu); URL's query and
	// fragment are ignored.
	Method, URL string
	// Aliases are other URLs of the same endpoint that htu may name
	// instead of URL, such as its mutual-TLS alias (RFC 8705 §5
	// mtls_endpoint_aliases) where clients reach it too.
	Aliases []string
	// AccessToken, when set, must be what `ath` hashes (RFC 9449 §4.3
	// step 10, at a resource server).
	AccessToken string
	// JKT, when set, must be the thumbprint of the proof's key (§7.1: the
	// token's cnf.jkt).
	JKT string
}

// Proof is a checked proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key, base64url.
	JKT      string
	Key      jose.JSONWebKey
	ID       string // jti
	IssuedAt time.Time
	Nonce    string
}

type proofClaims struct {
	JTI   string      `json:"jti"`
	HTM   string      `json:"htm"`
	HTU   string      `json:"htu"`
	IAT   json.Number `json:"iat"`
	ATH   string      `json:"ath"`
	Nonce string      `json:"nonce"`
}

var sigAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(Algorithms))
	for i, a := range Algorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// privateMembers are JWK members that only a private or symmetric key has
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Check checks proof (the DPoP header's value) against want, as RFC 9449
// §4.3 lists, and remembers its jti. The error wraps one of the Err*
// reasons.
func (c *Checker) Check(proof string, want Expect) (*Proof, error) {
	if proof == "" {
		return nil, ErrMissing
	}
	if len(proof) > MaxProofSize {
		return nil, fmt.Errorf("%w (%d bytes, at most %d)", ErrMalformed, len(proof), MaxProofSize)
	}
	jws, err := jose.ParseSignedCompact(proof, sigAlgs)
	if err != nil {
		return nil, parseError(proof)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != TypeProof {
		return nil, fmt.Errorf("%w (typ %q)", ErrType, typ)
	}
	// go-jose refuses an embedded private or symmetric key when it parses
	// (checkRawKey says why, on that path); IsPublic checks again.
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, ErrKey
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, ErrSignature
	}
	var pc proofClaims
	d := json.NewDecoder(strings.NewReader(string(payload)))
	d.UseNumber()
	if err := d.Decode(&pc); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if pc.JTI == "" || pc.HTM == "" || pc.HTU == "" || pc.IAT == "" || len(pc.JTI) > 512 {
		return nil, fmt.Errorf("%w: jti, htm, htu or iat missing", ErrMalformed)
	}
	if pc.HTM != want.Method {
		return nil, fmt.Errorf("%w (%q, want %q)", ErrMethod, pc.HTM, want.Method)
	}
	gotURL, err := NormalizeURL(pc.HTU)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	if !urlMatches(gotURL, want) {
		return nil, fmt.Errorf("%w (%q)", ErrURL, pc.HTU)
	}
	iatF, err := pc.IAT.Float64()
	if err != nil {
		return nil, fmt.Errorf("%w: iat: %v", ErrMalformed, err)
	}
	iat := time.Unix(int64(iatF), 0)
	now := c.now()
	if iat.Before(now.Add(-c.maxAge)) || iat.After(now.Add(c.leeway)) {
		return nil, ErrIssuedAt
	}
	if want.AccessToken != "" {
		if pc.ATH != AccessTokenHash(want.AccessToken) {
			return nil, ErrTokenHash
		}
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	if want.JKT != "" && jkt != want.JKT {
		return nil, ErrKeyMismatch
	}
	if c.nonces != nil && !c.nonces.Valid(pc.Nonce, now) {
		return nil, ErrUseNonce
	}
	if err := c.replay.add(jkt, pc.JTI, now); err != nil {
		return nil, err
	}
	return &Proof{JKT: jkt, Key: *jwk, ID: pc.JTI, IssuedAt: iat, Nonce: pc.Nonce}, nil
}

// urlMatches reports whether the normalized htu got is want's URL or one
// of its aliases.
func urlMatches(got string, want Expect) bool {
	if u, err := NormalizeURL(want.URL); err == nil && u == got {
		return true
	}
	for _, a := range want.Aliases {
		if u, err := NormalizeURL(a); err == nil && u == got {
			return true
		}
	}
	return false
}

// parseError tells an algorithm not on the list from anything else.
func parseError(proof string) error {
	var h struct {
		Alg string `json:"alg"`
	}
	if decodeHeader(proof, &h) == nil && h.Alg != "" && !slices.Contains(Algorithms, h.Alg) {
		return fmt.Errorf("%w (%q)", ErrAlgorithm, h.Alg)
	}
	if err := checkRawKey(proof); errors.Is(err, ErrKey) {
		return err // go-jose refuses an embedded private or symmetric key
	}
	return ErrMalformed
}

// checkRawKey refuses a jwk header with private or symmetric key members,
// whatever go-jose makes of it.
func checkRawKey(proof string) error {
	var h struct {
		JWK map[string]json.RawMessage `json:"jwk"`
	}
	if err := decodeHeader(proof, &h); err != nil {
		return ErrMalformed
	}
	if h.JWK == nil {
		return fmt.Errorf("%w (no jwk header)", ErrKey)
	}
	for _, m := range privateMembers {
		if _, ok := h.JWK[m]; ok {
			return fmt.Errorf("%w (it has the private member %q)", ErrKey, m)
		}
	}
	return nil
}

func decodeHeader(proof string, v any) error {
	head, _, ok := strings.Cut(proof, ".")
	if !ok {
		return ErrMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// NormalizeURL returns u as htu is compared (RFC 9449 §4.3 step 9): an
// absolute http or https URI without query and fragment, scheme and host
// lower-cased, percent-encodings of the path normalized, the scheme's
// default port dropped, an empty path made "/" (RFC 3986 §6.2.2, §6.2.3).
func NormalizeURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", errors.New("not a URI")
	}
	scheme := strings.ToLower(p.Scheme)
	if (scheme != "http" && scheme != "https") || p.Host == "" || p.User != nil {
		return "", errors.New("not an absolute http(s) URI")
	}
	host, port := strings.ToLower(p.Hostname()), p.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := normalizePercent(p.EscapedPath())
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// normalizePercent is RFC 3986 §6.2.2.1 and §6.2.2.2 on an escaped path:
// a percent-encoded unreserved character is decoded, any other
// percent-encoding upper-cased, so that /a%7eb and /a~b, %2f and %2F
// compare equal.
func normalizePercent(path string) string {
	if !strings.Contains(path, "%") {
		return path
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] != '%' || i+2 >= len(path) {
			b.WriteByte(path[i])
			continue
		}
		hi, lo := unhex(path[i+1]), unhex(path[i+2])
		if hi < 0 || lo < 0 {
			b.WriteByte(path[i])
			continue
		}
		if c := byte(hi<<4 | lo); unreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(path[i+1 : i+3]))
		}
		i += 2
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unreserved is RFC 3986 §2.3's unreserved set.
func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of key, base64url, as
// cnf.jkt holds it (RFC 9449 §6.1).
func Thumbprint(key crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: key}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dpop: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// AccessTokenHash is the `ath` of a proof for token (RFC 9449 §4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
