package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// federationCmd manages a client's federated credentials
// (docs/clients-without-secrets.md).
func (a *app) federationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "federation", Short: "Manage the platform issuers whose workload tokens authenticate as a client (Kubernetes, GitHub Actions)"}
	var in admin.FederationInput
	var claims []string
	add := &cobra.Command{
		Use:   "add ID --issuer URL --subject S [--audience A] [--claim k=v]... [--max-lifetime D]",
		Short: "Trust the tokens of an issuer whose subject and claims match, instead of a secret", Args: exactArgs("ID"),
		PreRunE: func(*cobra.Command, []string) error {
			m, err := parseClaims(claims)
			in.Claims = m
			return err
		},
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			fc, err := m.AddFederatedCredential(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			v := viewFederated(fc)
			r := federatedRow(v)
			return a.out().fields(v, [2]string{"id", r[0]}, [2]string{"issuer", r[1]}, [2]string{"subject", r[2]},
				[2]string{"audience", r[3]}, [2]string{"claims", r[4]}, [2]string{"max_lifetime", r[5]})
		}),
	}
	f := add.Flags()
	f.StringVar(&in.Issuer, "issuer", "", "the platform issuer's URL, its tokens' iss (https; its discovery document names its keys)")
	f.StringVar(&in.Subject, "subject", "", "the sub expected, exactly, or with '*' for one or more characters other than ':'")
	f.StringVar(&in.Audience, "audience", "", "the aud expected (default: this server's issuer)")
	f.StringArrayVar(&claims, "claim", nil, "a further condition NAME=VALUE (NAME may be a path such as kubernetes.io/namespace; repeatable)")
	f.DurationVar(&in.MaxLifetime, "max-lifetime", 0, "the most time an accepted token may still have to live, up to 24h (default 1h)")
	_ = add.MarkFlagRequired("issuer")
	_ = add.MarkFlagRequired("subject")

	list := &cobra.Command{
		Use: "list ID", Short: "List a client's federated credentials", Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			list, err := m.ListFederatedCredentials(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(a.out(), list, viewFederated, federatedRow, federatedHeader)
		}),
	}
	remove := &cobra.Command{
		Use: "remove ID CREDENTIAL_ID", Short: "Stop trusting a federated credential; its workloads are refused within one second", Args: exactArgs("ID", "CREDENTIAL_ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			if err := m.RemoveFederatedCredential(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return a.deleted("federated credential", args[1])
		}),
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

// parseClaims reads --claim NAME=VALUE flags.
func parseClaims(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--claim %q is not NAME=VALUE", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--claim %s is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// federatedView is the management API's shape, which the command line
// prints too.
type federatedView = mgmt.FederatedCredential

func viewFederated(fc storage.FederatedCredential) federatedView { return mgmt.ViewFederated(fc) }

var federatedHeader = []string{"ID", "ISSUER", "SUBJECT", "AUDIENCE", "CLAIMS", "MAX LIFETIME"}

func federatedRow(v federatedView) []string {
	aud := v.Audience
	if aud == "" {
		aud = "(the issuer)"
	}
	pairs := make([]string, 0, len(v.Claims))
	for k, val := range v.Claims {
		pairs = append(pairs, k+"="+val)
	}
	sort.Strings(pairs)
	life := "1h0m0s (default)"
	if v.MaxLifetime > 0 {
		life = (time.Duration(v.MaxLifetime) * time.Second).String()
	}
	return []string{v.ID, v.Issuer, v.Subject, aud, strings.Join(pairs, " "), life}
}
