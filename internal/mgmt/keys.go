package mgmt

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (h *Handler) listKeys(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	now := h.cfg.Now()
	return listing[storage.SigningKey, SigningKey]{
		key: "keys", load: h.store().ListKeys, view: func(k storage.SigningKey) SigningKey { return viewKey(k, now) },
		cursor: func(k storage.SigningKey) string { return timeCursor(k.CreatedAt, k.KID) },
	}.serve(r)
}

// rotateKeys rotates the signing keys of every algorithm, or of alg, as
// `gatehouse key rotate` does: the outgoing keys stay published for the
// longest token lifetime plus admin.RotationMargin; it refuses (409) when a
// next key was published for less than the JWKS cache lifetime, unless
// force=true. It answers the keys as GET /keys does.
func (h *Handler) rotateKeys(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	q := r.URL.Query()
	alg, qerr := query(q, "alg")
	if qerr != nil {
		return 0, nil, qerr
	}
	force, qerr := query(q, "force")
	if qerr != nil {
		return 0, nil, qerr
	}
	var opts keys.RotateOptions
	switch force {
	case "", "false":
	case "true":
		opts.Force = true
	default:
		return 0, nil, badQuery("force must be true or false")
	}
	if alg != "" {
		if !slices.Contains(admin.SigningAlgs, alg) {
			return 0, nil, badQuery(fmt.Sprintf("alg %q must be one of %s", alg, strings.Join(admin.SigningAlgs, ", ")))
		}
		if !h.cfg.Keys.HasCurrent(alg) {
			return 0, nil, newError(http.StatusConflict, CodeRotationRefused, fmt.Sprintf("no %s signing key exists yet; it is created when an API uses %s", alg, alg))
		}
		opts.Algs = []string{alg}
	}
	ctx := r.Context()
	apis, err := h.store().ListAPIs(ctx)
	if err != nil {
		return 0, nil, translate(err, resource{})
	}
	opts.MaxTokenLifetime = admin.RotationMaxTokenLifetime(apis)
	if _, err := h.cfg.Keys.Rotate(ctx, opts); err != nil {
		return 0, nil, translate(err, resource{})
	}
	list, err := h.store().ListKeys(ctx)
	if err != nil {
		return 0, nil, translate(err, resource{})
	}
	now := h.cfg.Now()
	return http.StatusOK, mapAll(list, func(k storage.SigningKey) SigningKey { return viewKey(k, now) }), nil
}
