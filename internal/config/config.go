package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// EnvMasterKey names the environment variable that holds the master key. It
// is read only from the environment: a secret never belongs in a flag.
const EnvMasterKey = "GATEHOUSE_MASTER_KEY"

// Config is gatehouse's configuration.
type Config struct {
	Addr            string
	Issuer          string
	DB              string
	Dev             bool
	MasterKeyFile   string
	MasterKey       string // from GATEHOUSE_MASTER_KEY only
	DefaultAudience string
	JWKSMaxAge      time.Duration
	SyncInterval    time.Duration
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration

	// LogFlushInterval is how long serve may gather log lines before it
	// writes them (one write(2) per interval, not per request); a crash
	// loses at most that much. Warnings and errors are written at once.
	LogFlushInterval time.Duration

	// KeyRotationPeriod is how long a signing key signs before serve
	// rotates it automatically; 0 turns automatic rotation off.
	KeyRotationPeriod time.Duration

	// TLSCert and TLSKey are PEM files; set both to serve HTTPS (reloaded
	// when they change), or neither.
	TLSCert, TLSKey string
	// TrustedProxies is a comma-separated list of CIDR prefixes or
	// addresses whose X-Forwarded-For is believed (package clientip).
	TrustedProxies string
	// TLSClientCA, MTLSAddr, MTLSBaseURL and ClientCertHeader configure
	// mutual TLS (RFC 8705; mtls.go).
	TLSClientCA, MTLSAddr, MTLSBaseURL, ClientCertHeader string
	// MetricsAddr is where GET /metrics is served: "" on the main listener,
	// host:port on a listener of its own, "off" nowhere.
	MetricsAddr string

	// TokenReuse gives a client that asks again for the same audience and
	// scope the token it already has while over half its lifetime remains.
	TokenReuse bool
	// DPoPNonce requires the DPoP proofs of token requests to carry a
	// server nonce (RFC 9449 §8).
	DPoPNonce bool

	// AuditRetention is how long audit events are kept; 0 keeps them forever.
	AuditRetention time.Duration
	// AuditTokenRetention is how long the per-token events (token.issued,
	// auth.failed) are kept, their hourly counts for AuditRetention; 0
	// keeps them as long as the other events.
	AuditTokenRetention time.Duration
	// AuthFailureLimit failed client authentications are allowed per
	// client_id and source address per AuthFailureWindow (ten times as many
	// per address over all client IDs); 0 turns the throttling off.
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
	// TokenQuota limits the tokens issued to each client ("100/m,5000/d";
	// empty: no quota); TokenQuotaPerAPI those to each client for each API.
	TokenQuota       string
	TokenQuotaPerAPI string

	// The login flow's lifetimes and throttling (see login.go).
	LoginCodeLifetime    time.Duration
	LoginSessionLifetime time.Duration
	RefreshTokenIdle     time.Duration
	RefreshTokenLifetime time.Duration
	LoginFailureLimit    int
	LoginFailureWindow   time.Duration

	// Console serves the admin console at /console (package console).
	Console bool

	// SQLiteCheckpointer runs a SQLite database's WAL checkpoints in a child
	// process (package checkpointer) instead of in serve's commits.
	SQLiteCheckpointer bool
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DB:              "sqlite:gatehouse.db",
		JWKSMaxAge:      5 * time.Minute,
		SyncInterval:    250 * time.Millisecond,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 10 * time.Second,

		LogFlushInterval: 50 * time.Millisecond,

		KeyRotationPeriod: 2160 * time.Hour, // 90 days

		AuditRetention:      2160 * time.Hour, // 90 days
		AuditTokenRetention: 168 * time.Hour,  // 7 days
		AuthFailureLimit:    10,
		AuthFailureWindow:   time.Minute,

		LoginCodeLifetime:    time.Minute,
		LoginSessionLifetime: 24 * time.Hour,
		RefreshTokenIdle:     15 * 24 * time.Hour,
		RefreshTokenLifetime: 30 * 24 * time.Hour,
		LoginFailureLimit:    5,
		LoginFailureWindow:   15 * time.Minute,

		Console:            true,
		SQLiteCheckpointer: true,
	}
}

type field struct {
	name  string // flag name; the YAML key is the same with '_' for '-'; the env var GATEHOUSE_ + upper snake
	usage string
	str   *string
	bool  *bool
	dur   *time.Duration
	num   *int
}

func (c *Config) fields() []field {
	return []field{
		{name: "addr", usage: "address to listen on (host:port)", str: &c.Addr},
		{name: "issuer", usage: "public base URL of this server, used verbatim as the token issuer (default http:// + the listen address)", str: &c.Issuer},
		{name: "db", usage: "database DSN: sqlite:PATH, or postgres://USER@HOST:PORT/DB?... for PostgreSQL", str: &c.DB},
		{name: "dev", usage: "development mode: seed a demo API and client on first start and print a curl command; fetch federated issuers on loopback over plain http", bool: &c.Dev},
		{name: "master-key-file", usage: "file holding the master key that encrypts signing keys at rest (default: GATEHOUSE_MASTER_KEY, else a 0600 file beside a SQLite database)", str: &c.MasterKeyFile},
		{name: "default-audience", usage: "audience used when a token request names none", str: &c.DefaultAudience},
		{name: "jwks-max-age", usage: "how long verifiers may cache the JWKS (Cache-Control max-age); rotation waits this long before a new key signs", dur: &c.JWKSMaxAge},
		{name: "key-rotation-period", usage: "how long a signing key signs before serve rotates it (one instance at a time, under a database lock); 0 turns automatic rotation off", dur: &c.KeyRotationPeriod},
		{name: "token-reuse", usage: "give a client asking again for the same audience and scope the token it was already issued while over half its lifetime remains (expires_in lowered to match)", bool: &c.TokenReuse},
		{name: "dpop-nonce", usage: "require DPoP proofs at the token endpoint to carry a server nonce (RFC 9449 §8): DPoP-Nonce, a new one every 5 minutes, derived from the master key so that every instance accepts every other's", bool: &c.DPoPNonce},
		{name: "sync-interval", usage: "how often to poll the database for changes", dur: &c.SyncInterval},
		{name: "log-level", usage: "debug, info, warn or error", str: &c.LogLevel},
		{name: "log-format", usage: "text or json", str: &c.LogFormat},
		{name: "log-flush-interval", usage: "how long serve gathers log lines (the request lines) before it writes them in one write; warnings and errors go at once; a crash loses at most this much; 0 writes every line at once", dur: &c.LogFlushInterval},
		{name: "shutdown-timeout", usage: "how long a graceful shutdown waits for requests in flight", dur: &c.ShutdownTimeout},
		{name: "tls-cert", usage: "PEM certificate (chain) file: serve HTTPS (TLS 1.2+, reloaded when the file changes); needs --tls-key", str: &c.TLSCert},
		{name: "tls-key", usage: "PEM private key file of --tls-cert", str: &c.TLSKey},
		{name: "trusted-proxies", usage: "comma-separated CIDR prefixes or IPs of reverse proxies whose X-Forwarded-For names the client address", str: &c.TrustedProxies},
		{name: "tls-client-ca", usage: "PEM file of the CA certificates that issue clients' certificates for tls_client_auth (RFC 8705 §2.1); with --tls-cert and no --mtls-addr the main listener requests (not requires) a client certificate", str: &c.TLSClientCA},
		{name: "mtls-addr", usage: "host:port of a second TLS listener that requests client certificates, advertised as mtls_endpoint_aliases (RFC 8705 §5) so that the main listener never asks browsers for one; needs --tls-cert", str: &c.MTLSAddr},
		{name: "mtls-base-url", usage: "public https base URL of the mutual-TLS endpoints advertised in mtls_endpoint_aliases (default: the issuer's host with --mtls-addr's port)", str: &c.MTLSBaseURL},
		{name: "client-cert-header", usage: "request header in which a --trusted-proxies proxy passes the client certificate: X-Forwarded-Client-Cert for Envoy's format, any other name for a URL-encoded PEM (nginx's $ssl_client_escaped_cert); ignored from other peers", str: &c.ClientCertHeader},
		{name: "metrics-addr", usage: "where to serve Prometheus /metrics: empty for the main listener, to the host itself only (loopback, through no proxy), host:port for a separate listener open to whoever reaches it, off for none", str: &c.MetricsAddr},
		{name: "audit-retention", usage: "how long audit events are kept before a periodic cleanup deletes them (one instance at a time); 0 keeps them forever", dur: &c.AuditRetention},
		{name: "audit-token-retention", usage: "how long the per-token audit events (token.issued, auth.failed) are kept; their hourly counts per client and API are kept for audit-retention; 0 keeps them as long as the others", dur: &c.AuditTokenRetention},
		{name: "auth-failure-limit", usage: "failed client authentications allowed per client_id and source address per --auth-failure-window (ten times as many per address over all client IDs), then 429 until the window refills; 0 turns throttling off", num: &c.AuthFailureLimit},
		{name: "auth-failure-window", usage: "the window of --auth-failure-limit", dur: &c.AuthFailureWindow},
		{name: "token-quota", usage: "tokens each client may be issued, as N/s, N/m, N/h or N/d, comma-separated (e.g. 100/m,5000/d); empty for no quota", str: &c.TokenQuota},
		{name: "token-quota-per-api", usage: "tokens each client may be issued for each API, as --token-quota; empty for no quota", str: &c.TokenQuotaPerAPI},
		{name: "login-code-lifetime", usage: "how long an authorization code may be redeemed (1s to 10m, RFC 6749 §4.1.2)", dur: &c.LoginCodeLifetime},
		{name: "login-session-lifetime", usage: "how long a login at the hosted login page lasts before the password is asked again", dur: &c.LoginSessionLifetime},
		{name: "refresh-token-idle", usage: "a refresh token unused this long is dead", dur: &c.RefreshTokenIdle},
		{name: "refresh-token-lifetime", usage: "the absolute lifetime of a login's refresh tokens, from the login, however often they rotate", dur: &c.RefreshTokenLifetime},
		{name: "login-failure-limit", usage: "failed logins allowed per user and address (IPv6: per /64) per --login-failure-window (four times as many per address), then that address is refused until the window refills; a user's failures from everywhere only delay its logins", num: &c.LoginFailureLimit},
		{name: "login-failure-window", usage: "the window of --login-failure-limit", dur: &c.LoginFailureWindow},
		{name: "console", usage: "serve the admin console at /console (people sign in with the hosted login and act with their management API permissions); --console=false turns it off", bool: &c.Console},
		{name: "sqlite-checkpointer", usage: "with SQLite, copy the write-ahead log into the database file (a checkpoint, and its fsync) in a child process every second, so that a slow disk sync never stalls token requests; false checkpoints in serve's own commits, as SQLite does by default; ignored with PostgreSQL", bool: &c.SQLiteCheckpointer},
	}
}

func (f field) env() string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
}

func (f field) key() string { return strings.ReplaceAll(f.name, "-", "_") }

func (f field) set(v string) error {
	switch {
	case f.str != nil:
		*f.str = v
	case f.bool != nil:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		*f.bool = b
	case f.dur != nil:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 250ms, 5m or 24h", v)
		}
		*f.dur = d
	case f.num != nil:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*f.num = n
	}
	return nil
}

// Flags selects which settings a command offers as flags.
type Flags []string

// Common are the settings every command that opens the database uses.
var Common = Flags{"db", "master-key-file"}

// Serve are the settings of gatehouse serve beyond Common.
var Serve = Flags{"addr", "issuer", "dev", "default-audience", "jwks-max-age", "key-rotation-period", "token-reuse", "dpop-nonce", "sync-interval", "log-level", "log-format", "log-flush-interval", "shutdown-timeout", "tls-cert", "tls-key", "trusted-proxies", "metrics-addr",
	"tls-client-ca", "mtls-addr", "mtls-base-url", "client-cert-header",
	"audit-retention", "audit-token-retention", "auth-failure-limit", "auth-failure-window", "token-quota", "token-quota-per-api",
	"login-code-lifetime", "login-session-lifetime", "refresh-token-idle", "refresh-token-lifetime", "login-failure-limit", "login-failure-window",
	"console", "sqlite-checkpointer"}

// Bind registers the named settings as flags on fs, with their defaults.
func Bind(fs *pflag.FlagSet, names Flags) {
	def := Default()
	for _, f := range def.fields() {
		if !contains(names, f.name) {
			continue
		}
		switch {
		case f.str != nil:
			fs.String(f.name, *f.str, f.usage)
		case f.bool != nil:
			fs.Bool(f.name, *f.bool, f.usage)
		case f.dur != nil:
			fs.Duration(f.name, *f.dur, f.usage)
		case f.num != nil:
			fs.Int(f.name, *f.num, f.usage)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Load resolves the configuration: defaults, then the YAML file (path, or
// GATEHOUSE_CONFIG), then the environment, then the flags set on fs (which
// may be nil). It reports every problem it meets, then those of Validate.
func Load(path string, fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	var problems []error
	if path == "" {
		path = getenv("GATEHOUSE_CONFIG")
	}
	if path != "" {
		problems = append(problems, c.loadFile(path)...)
	}
	for _, f := range c.fields() {
		if v, ok := lookup(getenv, f.env()); ok {
			if err := f.set(v); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", f.env(), err))
			}
		}
	}
	c.MasterKey = getenv(EnvMasterKey)
	if fs != nil {
		for _, f := range c.fields() {
			if fl := fs.Lookup(f.name); fl != nil && fl.Changed {
				if err := f.set(fl.Value.String()); err != nil {
					problems = append(problems, fmt.Errorf("--%s: %w", f.name, err))
				}
			}
		}
	}
	problems = append(problems, c.Validate())
	return c, errors.Join(problems...)
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func (c *Config) loadFile(path string) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("read config file: %w", err)}
	}
	var raw map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return []error{fmt.Errorf("config file %s: %w", path, err)}
	}
	byKey := map[string]field{}
	for _, f := range c.fields() {
		byKey[f.key()] = f
	}
	var problems []error
	for k, v := range raw {
		f, ok := byKey[k]
		if !ok {
			problems = append(problems, fmt.Errorf("config file %s: unknown setting %q", path, k))
			continue
		}
		if v == nil {
			continue
		}
		if err := f.set(fmt.Sprint(v)); err != nil {
			problems = append(problems, fmt.Errorf("config file %s: %s: %w", path, k, err))
		}
	}
	return problems
}

// Validate checks the configuration and reports every problem at once. It
// also fills in the derived default issuer.
func (c *Config) Validate() error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		bad("addr %q must be host:port", c.Addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("addr %q has an invalid port", c.Addr)
	}
	// With port 0 the issuer is derived once the listener has its port.
	if c.Issuer == "" && err == nil && port != "0" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.Issuer = c.Scheme() + "://" + net.JoinHostPort(host, port)
	}
	if c.Issuer != "" {
		if err := ValidateIssuer(c.Issuer); err != nil {
			bad("issuer: %v", err)
		}
	}
	if _, isSQLite := c.SQLitePath(); !isSQLite {
		if dsn, isPostgres := c.PostgresDSN(); !isPostgres {
			bad("db %q must be sqlite:PATH or a postgres:// or postgresql:// URL", RedactDSN(c.DB))
		} else if err := checkPostgresDSN(dsn); err != nil {
			bad("db %q %v", RedactDSN(c.DB), err)
		}
	}
	if c.JWKSMaxAge < 0 || c.JWKSMaxAge > 24*time.Hour {
		bad("jwks-max-age %s must be between 0s and 24h", c.JWKSMaxAge)
	}
	if c.KeyRotationPeriod != 0 && (c.KeyRotationPeriod < time.Second || c.KeyRotationPeriod < 2*c.JWKSMaxAge) {
		bad("key-rotation-period %s must be 0 (off), or at least 1s and twice jwks-max-age (%s), so that each new key is published a full JWKS cache lifetime before it signs",
			c.KeyRotationPeriod, c.JWKSMaxAge)
	}
	if c.SyncInterval < 10*time.Millisecond || c.SyncInterval > time.Second {
		bad("sync-interval %s must be between 10ms and 1s (changes must reach every instance within one second)", c.SyncInterval)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout %s must be positive", c.ShutdownTimeout)
	}
	if !contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format %q must be text or json", c.LogFormat)
	}
	if c.LogFlushInterval < 0 || c.LogFlushInterval > time.Second {
		bad("log-flush-interval %s must be between 0s and 1s (a crash loses at most that much of the log)", c.LogFlushInterval)
	}
	problems = append(problems, c.validateHTTP()...)
	problems = append(problems, c.validateMTLS()...)
	problems = append(problems, c.validateAbuse()...)
	problems = append(problems, c.validateLogin()...)
	return errors.Join(problems...)
}

// ValidateIssuer checks an issuer identifier (RFC 8414 §2): an http or https
// URL with a host and no query or fragment.
func ValidateIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q must be an http or https URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return fmt.Errorf("%q must not have a query or fragment", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry user information", s)
	}
	return nil
}

// PostgresDSN returns the DSN if it names a PostgreSQL database: a
// postgres:// or postgresql:// URL, as pgx accepts it (an empty host means
// the default: localhost or the local socket).
func (c *Config) PostgresDSN() (string, bool) {
	u, err := url.Parse(c.DB)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", false
	}
	return c.DB, true
}

// checkPostgresDSN requires a PostgreSQL URL to name its host and its
// database, in the URL or as its host and dbname parameters. Left out, the
// driver would pick defaults (the local server, a database named after the
// user, or PGHOST and PGDATABASE) and create gatehouse's tables wherever
// that leads.
func checkPostgresDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return errors.New("is not a URL")
	}
	q := u.Query()
	var missing []string
	if u.Host == "" && q.Get("host") == "" {
		missing = append(missing, "a host")
	}
	if strings.Trim(u.Path, "/") == "" && q.Get("dbname") == "" {
		missing = append(missing, "a database")
	}
	if len(missing) > 0 {
		return fmt.Errorf("must name %s: postgres://USER@HOST:PORT/DATABASE", strings.Join(missing, " and "))
	}
	return nil
}

// RedactDSN returns dsn with any password in it replaced by "xxxxx", for
// messages and logs.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if strings.Contains(dsn, "@") {
			return "(a DSN with credentials)"
		}
		return dsn
	}
	return u.Redacted()
}

// SQLitePath returns the file path of a sqlite: DSN.
func (c *Config) SQLitePath() (string, bool) {
	scheme, rest, ok := strings.Cut(c.DB, ":")
	return rest, ok && scheme == "sqlite" && rest != ""
}
