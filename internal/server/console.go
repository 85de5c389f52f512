package server

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/console"
)

// mountConsole mounts the admin console at /console (--console): it signs
// people in through the hosted login with its login client (made by `init
// --admin-email`, `console admin` or `console ensure`), redeems their code
// at the token endpoint in process, and authorizes every page and action
// with the management API's own check.
func (s *Server) mountConsole(mux *http.ServeMux, tokens http.Handler) {
	if !s.cfg.Console {
		return
	}
	h, err := console.New(console.Config{
		Issuer: s.cfg.Issuer, Admin: s.admin, Auth: s.mgmt, Catalog: s.catalog, Keys: s.keys, Denylist: s.revocation.denylist,
		Token: tokens, Key: s.csrfKey, Now: s.opts.Now, Rand: s.opts.Rand, Logger: s.log,
	})
	if err != nil { // the issuer was validated with the configuration
		s.log.Error("the console is off", "err", err)
		return
	}
	mux.Handle(console.Path, h)
	mux.Handle(console.Path+"/", h)
}
