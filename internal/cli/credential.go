package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// credentialManager is the part of manager that keeps client credentials.
type credentialManager interface {
	AddCredential(ctx context.Context, clientID string, in clientcred.Input, attach bool) (storage.Credential, error)
	ListCredentials(ctx context.Context, clientID string) ([]storage.Credential, error)
	DeleteCredential(ctx context.Context, clientID, id string, detach bool) error
}

type credentialView struct {
	ID        string  `json:"id"`
	Type      string  `json:"credential_type"`
	Name      string  `json:"name"`
	KeyID     string  `json:"kid,omitempty"`
	Alg       string  `json:"alg,omitempty"`
	SubjectDN string  `json:"subject_dn,omitempty"`
	CreatedAt *string `json:"created_at"`
	ExpiresAt *string `json:"expires_at"`
}

func viewCredential(c storage.Credential) credentialView {
	return credentialView{ID: c.ID, Type: c.Type, Name: c.Name, KeyID: c.KeyID, Alg: c.Alg, SubjectDN: c.SubjectDN,
		CreatedAt: ts(c.CreatedAt), ExpiresAt: ts(c.ExpiresAt)}
}

func credentialRow(c credentialView) []string {
	return []string{c.ID, c.Type, c.Alg, c.KeyID, c.Name, orDash(c.CreatedAt), orDash(c.ExpiresAt)}
}

var credentialHeader = []string{"ID", "TYPE", "ALG", "KID", "NAME", "CREATED_AT", "EXPIRES_AT"}

// publicKeyInput reads --public-key FILE into a public_key credential.
func publicKeyInput(file, alg, name string, expiresIn time.Duration, now time.Time) (clientcred.Input, error) {
	if expiresIn < 0 {
		return clientcred.Input{}, errors.New("--expires-in must be positive")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return clientcred.Input{}, fmt.Errorf("--public-key: %w", err)
	}
	if len(b) > clientcred.MaxPEMBytes {
		return clientcred.Input{}, fmt.Errorf("--public-key %s is larger than %d KiB: not one public key", file, clientcred.MaxPEMBytes>>10)
	}
	in := clientcred.Input{Type: storage.CredentialPublicKey, PEM: string(b), Alg: alg, Name: name}
	if expiresIn > 0 {
		in.ExpiresAt = now.Add(expiresIn).UTC()
	}
	return in, nil
}

func (a *app) credentialCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "Manage a client's public keys for private_key_jwt (several may be valid at once, for rotation)"}
	var file, alg, name string
	var expiresIn time.Duration
	add := &cobra.Command{
		Use:   "add ID --public-key FILE [--alg ALG] [--expires-in D] [--name N]",
		Short: "Register a public key (PEM) and let the client authenticate with it at once, beside its other keys",
		Args:  exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			in, err := publicKeyInput(file, alg, name, expiresIn, a.env.Now())
			if err != nil {
				return err
			}
			c, err := m.AddCredential(cmd.Context(), args[0], in, true)
			if err != nil {
				return err
			}
			return a.showCredential(c)
		}),
	}
	add.Flags().StringVar(&file, "public-key", "", "a PEM file with the public key (SPKI or PKCS #1) or a certificate; never the private key")
	add.Flags().StringVar(&alg, "alg", "", "the algorithm the client signs with: RS256, RS384, PS256, ES256 or EdDSA (default: the key's usual one)")
	add.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime from now, e.g. 2160h (default: no expiry)")
	add.Flags().StringVar(&name, "name", "", "a name for the key")
	_ = add.MarkFlagRequired("public-key")

	list := &cobra.Command{
		Use: "list ID", Short: "List a client's credentials (public keys, never private ones)", Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			list, err := m.ListCredentials(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(a.out(), list, viewCredential, credentialRow, credentialHeader)
		}),
	}
	var allowSecret bool
	remove := &cobra.Command{
		Use: "remove ID CREDENTIAL_ID", Short: "Remove a credential: the client stops authenticating with it at once", Args: exactArgs("ID", "CREDENTIAL_ID"),
		Long: "Remove a credential: the client stops authenticating with it at once. Removing the last key of a client " +
			"that still holds a client secret would let the secret authenticate it again, so it is refused unless " +
			"--allow-secret says that is meant; revoke the secrets first (client secret revoke) to leave the client " +
			"with no way to authenticate until a new key is added.",
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			if !allowSecret {
				if err := a.checkLastKey(cmd.Context(), m, args[0], args[1]); err != nil {
					return err
				}
			}
			if err := m.DeleteCredential(cmd.Context(), args[0], args[1], true); err != nil {
				return err
			}
			return a.deleted("credential", args[1])
		}),
	}
	remove.Flags().BoolVar(&allowSecret, "allow-secret", false, "remove the client's last key even though its client secret then authenticates it again")
	cmd.AddCommand(add, list, remove)
	return cmd
}

// checkLastKey refuses to remove credential id when it is the last key of a
// client that still holds a client secret: the secret, shut out while the
// client authenticates with keys (token.methodAllowed), would silently
// authenticate it again.
func (a *app) checkLastKey(ctx context.Context, m manager, clientID, id string) error {
	c, err := m.GetClient(ctx, clientID)
	if err != nil {
		return err
	}
	if !c.AuthMethods.Uses(id) || c.JWKSURI != "" || c.TokenEndpointAuthMethod == storage.AuthMethodPrivateKeyJWT ||
		c.TLSClientAuthSAN.Kind != "" || !c.AuthMethods.Without(id).IsZero() {
		return nil
	}
	secrets, err := m.ListSecrets(ctx, clientID)
	if err != nil {
		return err
	}
	now := a.env.Now()
	for _, sec := range secrets {
		if sec.ExpiresAt.IsZero() || sec.ExpiresAt.After(now) {
			return fmt.Errorf("credential %s is the last key of client %s, which still holds client secret %s: without a key the secret authenticates it again; revoke the secrets first (client secret revoke), or pass --allow-secret", id, clientID, sec.ID)
		}
	}
	return nil
}

func (a *app) showCredential(c storage.Credential) error {
	v := viewCredential(c)
	return a.out().fields(v, [2]string{"id", v.ID}, [2]string{"credential_type", v.Type}, [2]string{"alg", v.Alg},
		[2]string{"kid", v.KeyID}, [2]string{"name", v.Name}, [2]string{"expires_at", orDash(v.ExpiresAt)})
}

// createKeyClient creates a private_key_jwt client (no secret) with the
// key in file; a key that is refused leaves no client behind.
func (a *app) createKeyClient(ctx context.Context, m manager, in admin.ClientInput, file, alg string) (storage.Client, error) {
	cin, err := publicKeyInput(file, alg, "", 0, a.env.Now())
	if err != nil {
		return storage.Client{}, err
	}
	if _, err := clientcred.New("", "", cin, a.env.Now()); err != nil { // before anything is created
		return storage.Client{}, fmt.Errorf("--public-key %s: %w", file, err)
	}
	c, _, err := m.CreateClient(ctx, in)
	if err != nil {
		return storage.Client{}, err
	}
	if _, err := m.AddCredential(ctx, c.ClientID, cin, true); err != nil {
		_ = m.DeleteClient(context.WithoutCancel(ctx), c.ClientID)
		return storage.Client{}, err
	}
	return m.GetClient(ctx, c.ClientID)
}
