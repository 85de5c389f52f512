package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a mistake", errors.New("--name is required"), "gatehouse: --name is required"},
		{"two lines", errors.New("a\nb"), "gatehouse: a; b"},
		{"the local database is unreachable",
			fmt.Errorf("open postgres database db:5432/g: %w: %w", storage.ErrUnavailable, errors.New("dial tcp: connection refused")),
			"gatehouse: the database is unreachable: open postgres database db:5432/g: dial tcp: connection refused"},
		{"the server's database is unreachable",
			&mgmt.RemoteError{Status: 503, Code: mgmt.CodeUnavailable, Message: "the database is unreachable; try again later"},
			"gatehouse: the database is unreachable (the management API answered 503); try again later"},
		{"another 503", &mgmt.RemoteError{Status: 503, Code: "other", Message: "busy"}, "gatehouse: the management API answered 503: busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorLine(tc.err); got != tc.want {
				t.Errorf("errorLine = %q, want %q", got, tc.want)
			}
		})
	}
}
