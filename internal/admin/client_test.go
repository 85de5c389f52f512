package admin_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

func newService(t *testing.T) *admin.Service {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &admin.Service{Store: st, Now: func() time.Time { return now }}
}

func ptr[T any](v T) *T { return &v }

func TestCreateClientValidation(t *testing.T) {
	tooMany := map[string]string{}
	for i := range admin.MaxMetadataKeys + 1 {
		tooMany[string(rune('a'+i))] = "v"
	}
	tests := []struct {
		name string
		in   admin.ClientInput
		want []string // substrings of the one error; nil: success
	}{
		{"defaults", admin.ClientInput{Name: "svc"}, nil},
		{"metadata and basic", admin.ClientInput{Name: "svc", Metadata: map[string]string{"team": "x"}, TokenEndpointAuthMethod: "client_secret_basic"}, nil},
		{"no name", admin.ClientInput{Name: "  "}, []string{"client name is required"}},
		{"every problem at once", admin.ClientInput{Name: strings.Repeat("n", 256), Description: strings.Repeat("d", 141),
			TokenEndpointAuthMethod: "none", Metadata: map[string]string{"bad key": "v", "k": strings.Repeat("v", 256)}},
			[]string{"name is longer than 255", "description is longer than 140", `method "none" must be one of`, `metadata key "bad key"`, `value of "k" is longer`}},
		{"too many keys", admin.ClientInput{Name: "svc", Metadata: tooMany}, []string{"metadata has 11 keys, at most 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t)
			c, _, err := svc.CreateClient(t.Context(), tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CreateClient: %v", err)
				}
				got, err := svc.GetClient(t.Context(), c.ClientID)
				if err != nil {
					t.Fatal(err)
				}
				method := tt.in.TokenEndpointAuthMethod
				if method == "" {
					method = storage.AuthMethodClientSecretPost
				}
				if got.TokenEndpointAuthMethod != method || len(got.Metadata) != len(tt.in.Metadata) {
					t.Errorf("stored %+v", got)
				}
				return
			}
			if !errors.Is(err, admin.ErrInvalid) {
				t.Fatalf("CreateClient error = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if list, _ := svc.Store.ListClients(t.Context()); len(list) != 0 {
				t.Errorf("a refused client was stored: %v", list)
			}
		})
	}
}

func TestUpdateClient(t *testing.T) {
	svc := newService(t)
	ctx := t.Context()
	c, _, err := svc.CreateClient(ctx, admin.ClientInput{Name: "svc", Description: "d", Metadata: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.UpdateClient(ctx, c.ClientID, admin.ClientPatch{Name: ptr(" new "), Metadata: &map[string]string{"b": "2"}, Disabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := svc.GetClient(ctx, c.ClientID)
	for _, v := range []storage.Client{got, stored} {
		if v.Name != "new" || v.Description != "d" || v.Metadata["b"] != "2" || len(v.Metadata) != 1 || !v.Disabled {
			t.Errorf("after update: %+v", v)
		}
	}
	_, err = svc.UpdateClient(ctx, c.ClientID, admin.ClientPatch{Name: ptr(""), TokenEndpointAuthMethod: ptr("client_secret_jwt")})
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "name is required") || !strings.Contains(err.Error(), "client_secret_jwt") {
		t.Errorf("invalid patch: %v", err)
	}
	if after, _ := svc.GetClient(ctx, c.ClientID); after.Name != "new" {
		t.Errorf("a refused patch changed the client: %+v", after)
	}
	_, err = svc.UpdateClient(ctx, "missing", admin.ClientPatch{Name: ptr("x")})
	if !errors.Is(err, storage.ErrNotFound) || err.Error() != `client "missing" not found` {
		t.Errorf("missing client: %v", err)
	}
}
