package cli

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// cliAudit is the audit recorder of commands that change the database
// directly: their events name the actor "cli". The stored event is the
// record; the command line writes no log line for it (its standard error is
// for errors).
func cliAudit(store storage.Storage, now func() time.Time) *audit.Recorder {
	return audit.New(audit.Config{Store: store, Now: now, Logger: slog.New(slog.DiscardHandler)})
}

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit trail: tokens issued, failed authentications, admin changes, key rotations"}
	var (
		clientID, since, until string
		limit                  int
	)
	list := &cobra.Command{
		Use:   "list [--client ID] [--since T] [--until T] [--limit N]",
		Short: "List audit events, newest first (times RFC 3339 UTC)",
		Args:  cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *session) error {
			f := storage.AuditFilter{ClientID: clientID, Limit: limit}
			var err error
			now := a.env.Now()
			if f.Since, err = parseSince("--since", since, now); err != nil {
				return err
			}
			if f.Until, err = parseSince("--until", until, now); err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf("--limit %d must be 0 (all) or more", limit)
			}
			events, err := s.store.ListAudit(cmd.Context(), f)
			if err != nil {
				return err
			}
			return printList(a.out(), events, viewAudit, auditRow, auditHeader)
		}),
	}
	list.Flags().StringVar(&clientID, "client", "", "only events whose actor or target is this client")
	list.Flags().StringVar(&since, "since", "", "only events at or after T: an RFC 3339 time, or a duration ago such as 24h")
	list.Flags().StringVar(&until, "until", "", "only events before T: an RFC 3339 time, or a duration ago")
	list.Flags().IntVar(&limit, "limit", 100, "the newest N events at most; 0 for all")
	cmd.AddCommand(list, a.auditCountsCmd())
	return cmd
}

// auditCountsCmd lists the hourly token counts, which outlive the
// per-token events (--audit-token-retention against --audit-retention).
func (a *app) auditCountsCmd() *cobra.Command {
	var (
		f            storage.TokenCountFilter
		since, until string
		by           string
	)
	counts := &cobra.Command{
		Use:   "counts [--client ID] [--audience URI] [--since T] [--until T] [--by hour|day]",
		Short: "Tokens issued, reused and refused per client and API, by hour or day, newest first",
		Long: "Lists the token endpoint's activity per client and API (refusals: failed client authentications, with no API),\n" +
			"from the hourly counts, which are kept for --audit-retention while the per-token events that audit list shows\n" +
			"are kept for --audit-token-retention (7 days by default). Counts reach the database within about 10 seconds.",
		Args: cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *session) error {
			now := a.env.Now()
			var err error
			if f.Since, err = parseSince("--since", since, now); err != nil {
				return err
			}
			if f.Until, err = parseSince("--until", until, now); err != nil {
				return err
			}
			if by != "hour" && by != "day" {
				return fmt.Errorf("--by %q must be hour or day", by)
			}
			list, err := s.store.ListTokenCounts(cmd.Context(), f)
			if err != nil {
				return err
			}
			if by == "day" {
				list = byDay(list)
			}
			return printList(a.out(), list, viewTokenCount, tokenCountRow, tokenCountHeader)
		}),
	}
	counts.Flags().StringVar(&f.ClientID, "client", "", "only this client's counts")
	counts.Flags().StringVar(&f.Audience, "audience", "", "only this API's counts")
	counts.Flags().StringVar(&since, "since", "", "only hours starting at or after T: an RFC 3339 time, or a duration ago such as 720h")
	counts.Flags().StringVar(&until, "until", "", "only hours starting before T: an RFC 3339 time, or a duration ago")
	counts.Flags().StringVar(&by, "by", "hour", "hour, or day (UTC) to add the hours of each day up")
	return counts
}

// byDay adds up list (newest hour first) per UTC day, client and audience,
// keeping the order.
func byDay(list []storage.TokenCount) []storage.TokenCount {
	var out []storage.TokenCount
	at := map[[3]string]int{}
	for _, c := range list {
		c.Hour = c.Hour.Truncate(24 * time.Hour)
		k := [3]string{c.Hour.Format(time.DateOnly), c.ClientID, c.Audience}
		if i, ok := at[k]; ok {
			out[i].Issued += c.Issued
			out[i].Reused += c.Reused
			out[i].Refused += c.Refused
			continue
		}
		at[k] = len(out)
		out = append(out, c)
	}
	return out
}

// tokenCountView is a token count in the command line's JSON.
type tokenCountView struct {
	Start    string `json:"start"`
	ClientID string `json:"client_id"`
	Audience string `json:"audience"`
	Issued   int64  `json:"issued"`
	Reused   int64  `json:"reused"`
	Refused  int64  `json:"refused"`
}

var tokenCountHeader = []string{"START", "CLIENT_ID", "AUDIENCE", "ISSUED", "REUSED", "REFUSED"}

func viewTokenCount(c storage.TokenCount) tokenCountView {
	return tokenCountView{Start: c.Hour.UTC().Format(time.RFC3339), ClientID: c.ClientID, Audience: c.Audience,
		Issued: c.Issued, Reused: c.Reused, Refused: c.Refused}
}

func tokenCountRow(v tokenCountView) []string {
	return []string{v.Start, v.ClientID, v.Audience, strconv.FormatInt(v.Issued, 10), strconv.FormatInt(v.Reused, 10), strconv.FormatInt(v.Refused, 10)}
}

// parseSince reads an RFC 3339 time or a duration before now; "" is none.
func parseSince(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q must be an RFC 3339 time such as 2026-01-02T15:04:05Z or a duration ago such as 24h", flag, v)
}

// auditView is an audit event in the command line's JSON.
type auditView struct {
	ID         int64             `json:"id"`
	Time       string            `json:"time"`
	Actor      string            `json:"actor"`
	Action     string            `json:"action"`
	Target     string            `json:"target"`
	Outcome    string            `json:"outcome"`
	RemoteAddr string            `json:"remote_addr"`
	RequestID  string            `json:"request_id"`
	Details    map[string]string `json:"details"`
}

var auditHeader = []string{"TIME", "ACTION", "ACTOR", "TARGET", "OUTCOME", "REMOTE", "DETAILS"}

func viewAudit(e storage.AuditEvent) auditView {
	d := e.Details
	if d == nil {
		d = map[string]string{}
	}
	return auditView{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339), Actor: e.Actor, Action: e.Action, Target: e.Target,
		Outcome: e.Outcome, RemoteAddr: e.RemoteAddr, RequestID: e.RequestID, Details: d}
}

func auditRow(v auditView) []string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(v.Details)) {
		d = append(d, k+"="+v.Details[k])
	}
	return []string{v.Time, v.Action, v.Actor, v.Target, v.Outcome, v.RemoteAddr, strings.Join(d, " ")}
}
