package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestUpdateAPIAndGrant(t *testing.T) {
	svc := newService(t)
	ctx := t.Context()
	const aud = "https://api.test"
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: aud, Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}}}); err != nil {
		t.Fatal(err)
	}
	c, _, err := svc.CreateClient(ctx, admin.ClientInput{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGrant(ctx, c.ClientID, aud, []string{"read", "write"})
	if err != nil {
		t.Fatal(err)
	}

	hour := time.Hour
	got, err := svc.UpdateAPI(ctx, aud, admin.APIPatch{Name: ptr("Orders"), TokenLifetime: &hour, TokenDialect: ptr(storage.DialectAuth0)})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := svc.GetAPI(ctx, aud)
	for _, a := range []storage.API{got, stored} {
		if a.Name != "Orders" || a.TokenLifetime != hour || a.TokenDialect != storage.DialectAuth0 || a.SigningAlg != "RS256" || len(a.Scopes) != 2 {
			t.Errorf("after update: %+v", a)
		}
	}
	zero := time.Duration(0)
	_, err = svc.UpdateAPI(ctx, aud, admin.APIPatch{TokenLifetime: &zero, SigningAlg: ptr("HS256")})
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "token lifetime 0s") || !strings.Contains(err.Error(), "HS256") {
		t.Errorf("invalid patch: %v", err)
	}
	// A granted scope cannot be dropped from the API until no grant holds it.
	only := []storage.Scope{{Value: "read"}}
	_, err = svc.UpdateAPI(ctx, aud, admin.APIPatch{Scopes: &only})
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), `scope "write" is granted to client`) {
		t.Errorf("dropping a granted scope: %v", err)
	}
	if _, err := svc.UpdateGrant(ctx, g.ID, []string{"read", "read"}); err != nil {
		t.Fatal(err)
	}
	if gg, _ := svc.Store.GetGrant(ctx, g.ID); len(gg.Scope) != 1 || gg.Scope[0] != "read" {
		t.Errorf("grant after update: %+v", gg)
	}
	if _, err := svc.UpdateAPI(ctx, aud, admin.APIPatch{Scopes: &only}); err != nil {
		t.Errorf("dropping a scope no grant holds: %v", err)
	}
	if _, err := svc.UpdateGrant(ctx, g.ID, []string{"write"}); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), `does not define scope "write"`) {
		t.Errorf("granting an undefined scope: %v", err)
	}
	if _, err := svc.UpdateGrant(ctx, "missing", nil); !errors.Is(err, storage.ErrNotFound) || admin.NotFoundKind(err) != "grant" {
		t.Errorf("missing grant: %v", err)
	}
	if _, err := svc.UpdateAPI(ctx, "https://missing.test", admin.APIPatch{}); !errors.Is(err, storage.ErrNotFound) || admin.NotFoundKind(err) != "API" {
		t.Errorf("missing API: %v", err)
	}
}
