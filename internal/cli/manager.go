package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// manager is what the admin commands do: on the database (the default), or
// through a server's management API with --server. Both give the same
// results and the same errors for the same input.
type manager interface {
	CreateAPI(ctx context.Context, in admin.APIInput) (storage.API, error)
	GetAPI(ctx context.Context, identifier string) (storage.API, error)
	ListAPIs(ctx context.Context) ([]storage.API, error)
	UpdateAPI(ctx context.Context, identifier string, p admin.APIPatch) (storage.API, error)
	DeleteAPI(ctx context.Context, identifier string) error

	CreateClient(ctx context.Context, in admin.ClientInput) (storage.Client, admin.NewSecret, error)
	CreateLoginClient(ctx context.Context, in admin.LoginClientInput) (storage.Client, admin.NewSecret, error)
	GetClient(ctx context.Context, id string) (storage.Client, error)
	ListClients(ctx context.Context) ([]storage.Client, error)
	UpdateClient(ctx context.Context, id string, p admin.ClientPatch) (storage.Client, error)
	DeleteClient(ctx context.Context, id string) error
	SetClientDisabled(ctx context.Context, id string, disabled bool) (storage.Client, error)

	AddSecret(ctx context.Context, id string, notBefore time.Time, expiresIn time.Duration) (admin.NewSecret, error)
	RotateSecret(ctx context.Context, id string, grace time.Duration) (admin.NewSecret, error)
	ListSecrets(ctx context.Context, id string) ([]storage.Secret, error)
	RevokeSecret(ctx context.Context, id, secretID string) error

	CreateGrantFor(ctx context.Context, subjectType, clientID, audience string, scopes []string) (storage.Grant, error)
	ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error)
	UpdateGrant(ctx context.Context, id string, scopes []string) (storage.Grant, error)
	DeleteGrant(ctx context.Context, id string) error

	ListKeys(ctx context.Context) ([]storage.SigningKey, error)
	RotateKeys(ctx context.Context, alg string, force bool) ([]storage.SigningKey, error)

	// Revocation and introspection rights (docs/revocation.md).
	RevokeClientTokens(ctx context.Context, id string) (admin.RevokedTokens, error)
	AddIntrospector(ctx context.Context, audience, clientID string) (storage.Introspector, error)
	RemoveIntrospector(ctx context.Context, audience, clientID string) error
	ListIntrospectors(ctx context.Context, audience string) ([]storage.Introspector, error)
}

var (
	_ manager = (*local)(nil)
	_ manager = (*mgmt.Remote)(nil)
)

// local is the manager of an open database: the admin service, plus the
// listings and key rotation that read the store directly.
type local struct {
	*admin.Service
	a *app
	s *session
}

// loadKeys gives the admin service the signing keys, for the operations
// that create or rotate them.
func (l *local) loadKeys(ctx context.Context) (*keys.Manager, error) {
	if km, ok := l.Keys.(*keys.Manager); ok {
		return km, nil
	}
	km, err := l.a.keyManager(ctx, l.s)
	if err != nil {
		return nil, err
	}
	l.Keys = km
	return km, nil
}

func (l *local) CreateAPI(ctx context.Context, in admin.APIInput) (storage.API, error) {
	if _, err := l.loadKeys(ctx); err != nil {
		return storage.API{}, err
	}
	return l.Service.CreateAPI(ctx, in)
}

func (l *local) UpdateAPI(ctx context.Context, identifier string, p admin.APIPatch) (storage.API, error) {
	if p.SigningAlg != nil {
		if _, err := l.loadKeys(ctx); err != nil {
			return storage.API{}, err
		}
	}
	return l.Service.UpdateAPI(ctx, identifier, p)
}

func (l *local) ListAPIs(ctx context.Context) ([]storage.API, error) { return l.Store.ListAPIs(ctx) }

func (l *local) ListClients(ctx context.Context) ([]storage.Client, error) {
	return l.Store.ListClients(ctx)
}

func (l *local) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	return l.Store.ListGrants(ctx, f)
}

func (l *local) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return l.Store.ListKeys(ctx)
}

// RotateKeys rotates as the scheduler of serve does: the outgoing key stays
// published until the longest-lived token it can have signed expires, with
// a margin for instances that sign with it until they see the rotation and
// for verifier leeway.
//
// The next key must have been published for the longest JWKS max-age that
// the running servers recorded (server.JWKSCacheWaitFunc); --jwks-max-age counts
// only where no server has recorded one.
func (l *local) RotateKeys(ctx context.Context, alg string, force bool) ([]storage.SigningKey, error) {
	km, err := l.loadKeys(ctx) // waits out server.JWKSCacheWaitFunc
	if err != nil {
		return nil, err
	}
	opts := keys.RotateOptions{Force: force}
	if alg != "" {
		opts.Algs = []string{alg}
		if !km.HasCurrent(alg) {
			return nil, fmt.Errorf("no %s signing key exists yet; it is created when an API uses %s", alg, alg)
		}
	}
	apis, err := l.Store.ListAPIs(ctx)
	if err != nil {
		return nil, err
	}
	opts.MaxTokenLifetime = admin.RotationMaxTokenLifetime(apis)
	if _, err := km.Rotate(ctx, opts); err != nil {
		return nil, err
	}
	return l.Store.ListKeys(ctx)
}

// Environment of remote mode.
const (
	EnvServer       = "GATEHOUSE_SERVER"
	EnvCredentials  = "GATEHOUSE_CREDENTIALS"
	EnvClientID     = "GATEHOUSE_CLIENT_ID"
	EnvClientSecret = "GATEHOUSE_CLIENT_SECRET"
)

// remoteFlags adds --server and --credentials to an admin command group.
func remoteFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("server", "", "work through this server's management API instead of the database (env "+EnvServer+")")
	pf.String("credentials", "", "with --server: a JSON file with the admin client's client_id and client_secret, as init --json prints (env "+
		EnvCredentials+"; or set "+EnvClientID+" and "+EnvClientSecret+")")
	cacertFlag(cmd, true)
}

// withManager runs a command body with a manager: remote when --server (or
// GATEHOUSE_SERVER) is set, else the database, closed afterwards.
func (a *app) withManager(run func(cmd *cobra.Command, args []string, m manager) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		server, _ := cmd.Flags().GetString("server")
		if server == "" {
			server = a.env.Getenv(EnvServer)
		}
		if server != "" {
			if f := cmd.Flags().Lookup("db"); f != nil && f.Changed {
				return errors.New("--server and --db exclude each other: the server works on its own database")
			}
			id, secret, err := a.credentials(cmd)
			if err != nil {
				return err
			}
			hc, err := a.httpClient(cmd, 30*time.Second)
			if err != nil {
				return err
			}
			r, err := mgmt.Dial(cmd.Context(), mgmt.RemoteConfig{Server: server, ClientID: id, ClientSecret: secret, HTTPClient: hc, Now: a.env.Now})
			if err != nil {
				return err
			}
			return run(cmd, args, r)
		}
		s, err := a.open(cmd, false)
		if err != nil {
			return err
		}
		defer s.Close()
		before, berr := s.store.LatestChange(cmd.Context())
		if err := run(cmd, args, &local{Service: s.svc, a: a, s: s}); err != nil {
			return err
		}
		if after, aerr := s.store.LatestChange(cmd.Context()); !a.json && berr == nil && aerr == nil && after > before {
			fmt.Fprintln(a.env.Stderr, syncNotice)
		}
		return nil
	}
}

// syncNotice tells, after a change made on the database (not with --json,
// whose standard error stays empty), when running servers apply it: each follows the database's change feed every
// --sync-interval. Through --server the change is in force on that server
// when the command returns.
var syncNotice = fmt.Sprintf("Running servers on this database apply the change within their --sync-interval (%s by default, 1s at most); "+
	"with --server, the server applies it before answering.", config.Default().SyncInterval)

// credentials reads the admin client's credentials: --credentials (or
// GATEHOUSE_CREDENTIALS), else GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET.
func (a *app) credentials(cmd *cobra.Command) (id, secret string, err error) {
	path, _ := cmd.Flags().GetString("credentials")
	if path == "" {
		path = a.env.Getenv(EnvCredentials)
	}
	if path == "" {
		return a.env.Getenv(EnvClientID), a.env.Getenv(EnvClientSecret), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("credentials file: %w", err)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(data, &c); err != nil || c.ClientID == "" || c.ClientSecret == "" {
		return "", "", fmt.Errorf("credentials file %s must be a JSON object with client_id and client_secret, as gatehouse init --json prints", path)
	}
	return c.ClientID, c.ClientSecret, nil
}
