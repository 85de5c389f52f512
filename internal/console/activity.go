package console

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Signing keys.

type keyRow struct {
	storage.SigningKey
	State string
}

type algKeys struct {
	Alg  string
	Keys []keyRow
	// RotatableAt is when the next key has been published for the JWKS
	// cache lifetime, so that a rotation is not refused.
	RotatableAt time.Time
	Wait        time.Duration
}

type keysData struct {
	Algs []algKeys
	// JWKSMaxAge is the longest JWKS cache lifetime of the instances,
	// which a rotation waits out (keys.Manager.CacheWait).
	JWKSMaxAge time.Duration
	Now        time.Time
}

func (h *Handler) keysData(c *call) (keysData, error) {
	list, err := h.cfg.Admin.Store.ListKeys(c.ctx)
	if err != nil {
		return keysData{}, err
	}
	wait, err := h.cfg.Keys.CacheWait(c.ctx)
	if err != nil {
		return keysData{}, err
	}
	now := h.cfg.Now()
	d := keysData{JWKSMaxAge: wait, Now: now}
	byAlg := map[string]*algKeys{}
	for _, k := range list {
		state := admin.KeyState(k, now)
		if state == storage.KeyRetired {
			continue
		}
		a := byAlg[k.Alg]
		if a == nil {
			a = &algKeys{Alg: k.Alg}
			byAlg[k.Alg] = a
		}
		k.PrivateKey = nil
		a.Keys = append(a.Keys, keyRow{SigningKey: k, State: state})
		if k.State == storage.KeyNext {
			a.RotatableAt = k.CreatedAt.Add(wait)
			a.Wait = max(0, a.RotatableAt.Sub(now)).Round(time.Second)
		}
	}
	order := map[string]int{storage.KeyNext: 0, storage.KeyCurrent: 1, storage.KeyPrevious: 2}
	for _, a := range byAlg {
		slices.SortStableFunc(a.Keys, func(x, y keyRow) int {
			return cmp.Or(cmp.Compare(order[x.SigningKey.State], order[y.SigningKey.State]), y.CreatedAt.Compare(x.CreatedAt))
		})
		d.Algs = append(d.Algs, *a)
	}
	slices.SortFunc(d.Algs, func(x, y algKeys) int { return strings.Compare(x.Alg, y.Alg) })
	return d, nil
}

func (h *Handler) showKeys(c *call, status int, errs map[string]string) {
	d, err := h.keysData(c)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	c.page(status, "keys", "keys", "Signing keys", d, errs)
}

func (h *Handler) listKeys(c *call) { h.showKeys(c, http.StatusOK, nil) }

// rotateKeys rotates one algorithm's keys as the management API and `key
// rotate` do; a rotation sooner than the JWKS cache lifetime after the
// next key was published is refused, with the wait.
func (h *Handler) rotateKeys(c *call) {
	alg := c.form.Get("alg")
	if !slices.Contains(admin.SigningAlgs, alg) {
		h.showKeys(c, http.StatusUnprocessableEntity, map[string]string{"": fmt.Sprintf("algorithm %q must be one of %s", alg, strings.Join(admin.SigningAlgs, ", "))})
		return
	}
	apis, err := h.cfg.Admin.Store.ListAPIs(c.ctx)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	_, err = h.cfg.Keys.Rotate(c.ctx, keys.RotateOptions{Algs: []string{alg}, MaxTokenLifetime: admin.RotationMaxTokenLifetime(apis)})
	if errors.Is(err, keys.ErrRotateTooSoon) || errors.Is(err, keys.ErrNoCurrentKey) {
		h.showKeys(c, http.StatusConflict, map[string]string{"": err.Error()})
		return
	}
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	c.done(Path+"/keys", flash{Message: "The " + alg + " keys rotated: the next key signs now, and a new next key is published."})
}

// Audit trail.

type auditData struct {
	Events []storage.AuditEvent
	// Names are the people's emails and the clients' names of the actors
	// and targets shown, by ID.
	Names                map[string]string
	Actor, Client, Event string
	Since, Until         string
	Prev, Next           string
	Page                 int
}

// listAudit shows the audit trail newest first, filtered by actor, client,
// event type and time, PageSize events a page.
func (h *Handler) listAudit(c *call) {
	q := c.r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(q.Get("actor")), Client: strings.TrimSpace(q.Get("client")), Event: strings.TrimSpace(q.Get("event")),
		Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until"))}
	f := storage.AuditFilter{Actor: d.Actor, ClientID: d.Client, Action: d.Event, Limit: PageSize + 1}
	errs := map[string]string{}
	for _, t := range []struct {
		v   string
		dst *time.Time
		key string
	}{{d.Since, &f.Since, "since"}, {d.Until, &f.Until, "until"}} {
		if t.v == "" {
			continue
		}
		v, err := parseWhen(t.v)
		if err != nil {
			errs[t.key] = t.key + " " + t.v + " must be a time such as 2026-12-31T09:00 (UTC)"
			continue
		}
		*t.dst = v
	}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	f.Offset = (d.Page - 1) * PageSize
	status := http.StatusOK
	if len(errs) > 0 {
		c.page(http.StatusUnprocessableEntity, "audit", "audit", "Audit trail", d, errs)
		return
	}
	events, err := h.cfg.Admin.Store.ListAudit(c.ctx, f)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	link := func(page int) string {
		v := url.Values{}
		for k, s := range map[string]string{"actor": d.Actor, "client": d.Client, "event": d.Event, "since": d.Since, "until": d.Until} {
			if s != "" {
				v.Set(k, s)
			}
		}
		v.Set("page", strconv.Itoa(page))
		return Path + "/audit?" + v.Encode()
	}
	if len(events) > PageSize {
		events = events[:PageSize]
		d.Next = link(d.Page + 1)
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	d.Events = events
	d.Names = h.names(c, events)
	c.page(status, "audit", "audit", "Audit trail", d, nil)
}

// names returns the emails of the people and the names of the clients
// that events name as actor or target, by ID: the catalog's clients, and
// each person looked up once.
func (h *Handler) names(c *call, events []storage.AuditEvent) map[string]string {
	out := map[string]string{}
	snap := h.cfg.Catalog.Snapshot()
	for _, e := range events {
		for _, id := range []string{e.Actor, e.Target} {
			if _, seen := out[id]; seen || id == "" {
				continue
			}
			out[id] = ""
			if cl, ok := snap.Client(id); ok {
				out[id] = cl.Name
			} else if strings.HasPrefix(id, "usr_") {
				if u, err := h.cfg.Admin.Store.GetUser(c.ctx, id); err == nil {
					out[id] = u.Email
				}
			}
		}
	}
	return out
}

// Activity.

// bar is one bar of a chart, placed in the SVG's coordinates.
type bar struct {
	Label         string
	Value         int64
	X, Y, W, H    int
	LabelX        int
	ShowLabel     bool
	ValueLabelY   int
	ShowValueText bool
}

// chart is a server-rendered SVG bar chart with its data as a table.
type chart struct {
	Title        string
	Bars         []bar
	Max          int64
	Total        int64
	Width        int
	Height       int
	BaselineY    int
	AxisLabelY   int
	Desc         string
	Class        string
	TableCaption string
}

const chartW, chartH, chartPad = 720, 180, 24

func newChart(title, class string, labels []string, values []int64) chart {
	c := chart{Title: title, Class: class, Width: chartW, Height: chartH + 2*chartPad, BaselineY: chartH + chartPad/2, AxisLabelY: chartH + chartPad + 8}
	for _, v := range values {
		c.Max = max(c.Max, v)
		c.Total += v
	}
	n := max(len(values), 1)
	slot := chartW / n
	every := max(1, n/12)
	for i, v := range values {
		hgt := 0
		if c.Max > 0 {
			hgt = int(v * int64(chartH-chartPad) / c.Max)
		}
		if v > 0 && hgt == 0 {
			hgt = 1
		}
		c.Bars = append(c.Bars, bar{Label: labels[i], Value: v, X: chartPad + i*slot + 1, W: max(slot-2, 1), H: hgt, Y: c.BaselineY - hgt,
			LabelX: chartPad + i*slot + slot/2, ShowLabel: i%every == 0, ValueLabelY: c.BaselineY - hgt - 4, ShowValueText: v > 0 && n <= 24})
	}
	c.Desc = fmt.Sprintf("%s: %d in all, at most %d in one period", title, c.Total, c.Max)
	return c
}

type countRow struct {
	Client, Audience string
	Issued, Refused  int64
}

type secretAlert struct {
	ClientID, Name string
	Secret         storage.Secret
}

type activityData struct {
	Range          string
	Client, API    string
	Issued, Failed chart
	Rows           []countRow
	Unused, Old    []secretAlert
	SecretsShown   bool
	Now            time.Time
}

// activity shows the tokens issued and the failed client authentications
// per hour (the last 48 hours) or per day (the last 14 days), from the
// hourly token counts, with the clients and APIs behind them, and the
// secrets unused for 30 days or older than 90.
func (h *Handler) activity(c *call) {
	q := c.r.URL.Query()
	d := activityData{Range: q.Get("range"), Client: strings.TrimSpace(q.Get("client")), API: strings.TrimSpace(q.Get("api")), Now: h.cfg.Now()}
	step, n := time.Hour, 48
	if d.Range == "days" {
		step, n = 24*time.Hour, 14
	} else {
		d.Range = "hours"
	}
	end := d.Now.UTC().Truncate(step).Add(step)
	start := end.Add(-time.Duration(n) * step)
	counts, err := h.cfg.Admin.Store.ListTokenCounts(c.ctx, storage.TokenCountFilter{ClientID: d.Client, Audience: d.API, Since: start})
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	issued, failed := make([]int64, n), make([]int64, n)
	labels := make([]string, n)
	for i := range n {
		t := start.Add(time.Duration(i) * step)
		if step == time.Hour {
			labels[i] = t.Format("15h")
			if t.Hour() == 0 {
				labels[i] = t.Format("Jan 2")
			}
		} else {
			labels[i] = t.Format("Jan 2")
		}
	}
	rows := map[[2]string]*countRow{}
	for _, tc := range counts {
		i := int(tc.Hour.Sub(start) / step)
		if i < 0 || i >= n {
			continue
		}
		issued[i] += tc.Issued
		failed[i] += tc.Refused
		k := [2]string{tc.ClientID, tc.Audience}
		if rows[k] == nil {
			rows[k] = &countRow{Client: tc.ClientID, Audience: tc.Audience}
		}
		rows[k].Issued += tc.Issued
		rows[k].Refused += tc.Refused
	}
	per := "hour"
	if step != time.Hour {
		per = "day"
	}
	d.Issued = newChart("Tokens issued per "+per, "issued", labels, issued)
	d.Failed = newChart("Failed client authentications per "+per, "failed", labels, failed)
	for _, r := range rows {
		d.Rows = append(d.Rows, *r)
	}
	slices.SortFunc(d.Rows, func(a, b countRow) int {
		return cmp.Or(cmp.Compare(b.Issued+b.Refused, a.Issued+a.Refused), strings.Compare(a.Client, b.Client), strings.Compare(a.Audience, b.Audience))
	})
	if c.can(mgmt.ScopeReadClientKeys) {
		d.SecretsShown = true
		if err := h.secretAlerts(c, &d); err != nil {
			h.fail(c.w, c.r, err)
			return
		}
	}
	c.page(http.StatusOK, "activity", "activity", "Activity", d, nil)
}

// Secret alert thresholds.
const (
	UnusedAfter = 30 * 24 * time.Hour
	OldAfter    = 90 * 24 * time.Hour
)

// secretAlerts lists the secrets still valid that no token request used
// for UnusedAfter (or ever, created that long ago) and those created more
// than OldAfter ago.
func (h *Handler) secretAlerts(c *call, d *activityData) error {
	all, err := h.cfg.Admin.Store.ListAllSecrets(c.ctx)
	if err != nil {
		return err
	}
	snap := h.cfg.Catalog.Snapshot()
	for _, s := range all {
		if !s.ExpiresAt.IsZero() && !d.Now.Before(s.ExpiresAt) {
			continue
		}
		name := s.ClientID
		if cl, ok := snap.Client(s.ClientID); ok {
			name = cl.Name
		}
		s.Hash = nil
		a := secretAlert{ClientID: s.ClientID, Name: name, Secret: s}
		last := cmp.Or(s.LastUsedAt, s.CreatedAt)
		if d.Now.Sub(last) >= UnusedAfter {
			d.Unused = append(d.Unused, a)
		}
		if d.Now.Sub(s.CreatedAt) >= OldAfter {
			d.Old = append(d.Old, a)
		}
	}
	return nil
}
