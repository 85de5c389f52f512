package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// cutStyle is how pgProxy cuts the connection to PostgreSQL.
type cutStyle int

const (
	// cutReset resets every live connection and every new one: the client
	// learns at once that the database is gone (a restart, a refused port).
	cutReset cutStyle = iota + 1
	// cutBlackhole forwards nothing any more: live connections stall and new
	// ones are accepted but never answered (a partition, a dropped route).
	// The stalled connections stay stalled after the restore, as when a
	// failover or a firewall that lost its state leaves the old flows dead
	// without a reset; only new connections get through again.
	cutBlackhole
)

// length is how long the test cuts. A blackhole lasts longer than the
// catalog's call timeout (catalog.DefaultCallTimeout, 5 s) so that the
// server must notice during the cut that its sync does not come back.
func (s cutStyle) length() time.Duration {
	if s == cutBlackhole {
		return 6500 * time.Millisecond
	}
	return 3500 * time.Millisecond
}

func (s cutStyle) String() string {
	switch s {
	case cutReset:
		return "reset"
	case cutBlackhole:
		return "blackhole"
	}
	return fmt.Sprintf("cutStyle(%d)", int(s))
}

// pgProxy is a TCP proxy on the loopback interface in front of PostgreSQL
// that the test cuts and restores.
type pgProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cut    cutStyle       // 0 while forwarding
	live   map[*pipe]bool // forwarding, or stalled by a blackhole
	held   []net.Conn     // accepted during a blackhole, never answered
	closed bool
	wg     sync.WaitGroup
}

// pipe is one proxied connection.
type pipe struct {
	client, server net.Conn
	stalled        bool // by a blackhole, for good; guarded by pgProxy.mu
	once           sync.Once
	done           chan struct{}
}

func (p *pipe) close(reset bool) {
	p.once.Do(func() {
		if reset {
			if tc, ok := p.client.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, not FIN
			}
		}
		_ = p.client.Close()
		_ = p.server.Close()
		close(p.done)
	})
}

// newPGProxy listens on 127.0.0.1 and forwards to target until the test
// ends.
func newPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &pgProxy{ln: ln, target: target, live: map[*pipe]bool{}}
	px.wg.Go(px.accept)
	t.Cleanup(px.shutdown)
	return px
}

func (px *pgProxy) addr() string { return px.ln.Addr().String() }

func (px *pgProxy) accept() {
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		px.mu.Lock()
		switch {
		case px.closed:
			_ = c.Close()
		case px.cut == cutReset:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		case px.cut == cutBlackhole:
			px.held = append(px.held, c)
		default:
			px.wg.Go(func() { px.forward(c) })
		}
		px.mu.Unlock()
	}
}

func (px *pgProxy) forward(c net.Conn) {
	s, err := net.DialTimeout("tcp", px.target, 5*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p := &pipe{client: c, server: s, done: make(chan struct{})}
	px.mu.Lock()
	if px.closed || px.cut != 0 {
		px.mu.Unlock()
		p.close(true)
		return
	}
	px.live[p] = true
	px.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { px.copy(p, s, c) })
	wg.Go(func() { px.copy(p, c, s) })
	wg.Wait()
	px.mu.Lock()
	delete(px.live, p)
	px.mu.Unlock()
}

// copy forwards from src to dst; once a blackhole has stalled the pipe it
// keeps what it read and forwards nothing more, until the pipe is closed.
func (px *pgProxy) copy(p *pipe, dst, src net.Conn) {
	defer p.close(false)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			px.mu.Lock()
			stalled := p.stalled
			px.mu.Unlock()
			if stalled {
				<-p.done
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutOff starts an outage of the given style.
func (px *pgProxy) cutOff(style cutStyle) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.cut = style
	for p := range px.live {
		if style == cutReset {
			p.close(true)
		} else {
			p.stalled = true
		}
	}
}

// restore forwards new connections again. Connections a blackhole held or
// stalled stay dead: the held ones are closed, the stalled ones forward
// nothing until their clients give up on them.
func (px *pgProxy) restore() {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.cut = 0
	for _, c := range px.held {
		_ = c.Close()
	}
	px.held = nil
}

func (px *pgProxy) shutdown() {
	px.mu.Lock()
	px.closed = true
	_ = px.ln.Close()
	for p := range px.live {
		p.close(true)
	}
	for _, c := range px.held {
		_ = c.Close()
	}
	px.held = nil
	px.mu.Unlock()
	px.wg.Wait()
}

// viaProxy returns the instance's DSN with the proxy's address in place of
// PostgreSQL's, and extra parameters added.
func viaProxy(t *testing.T, dsn, proxyAddr string, params url.Values) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("%s must be a postgres:// URL with a host for the outage test", testutil.EnvPostgres)
	}
	u.Host = proxyAddr
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresAddr is host:port of the test PostgreSQL.
func postgresAddr(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testutil.PostgresDSN(t))
	if err != nil || u.Host == "" {
		t.Fatalf("%s must be a postgres:// URL with a host for the outage test", testutil.EnvPostgres)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432")
	}
	return u.Host
}

// readyProbe is one /readyz answer.
type readyProbe struct {
	at     time.Time // when the request was sent
	took   time.Duration
	status int // 0 when the request failed
	err    error
	body   string
}

// streamResult is what the steady stream of token requests saw.
type streamResult struct {
	ok, failed   atomic.Int64
	okDuringCut  atomic.Int64
	mu           sync.Mutex
	firstFailure []string
}

// TestPostgresOutage cuts the connection between a `gatehouse serve` on
// PostgreSQL and its database for a few seconds under a steady stream of
// token requests (ARCHITECTURE.md: if the database goes away, issuance for known
// clients goes on and readiness reports the fault): no token request of a
// known client fails; /readyz answers 503 during the cut, within its ping
// timeout even when the database does not answer at all, and 200 again by
// itself afterwards; an admin write through the cut connection fails with
// one line naming the database and writes nothing; and changes made during
// and after the cut reach the server once the pool and the change listener
// have reconnected.
func TestPostgresOutage(t *testing.T) {
	in := postgresInstance(t)
	target := postgresAddr(t)
	aud := in.newAPI(t, "ES256")
	known := in.newClient(t, "known")
	in.grant(t, known, aud)

	for _, style := range []cutStyle{cutReset, cutBlackhole} {
		t.Run(style.String(), func(t *testing.T) { outage(t, in, target, style, known, aud) })
	}
}

// The outage's durations.
const (
	outageBefore   = time.Second      // steady stream before the cut
	outageRecovery = 15 * time.Second // until /readyz is 200 again
	readyTimeout   = 5 * time.Second  // a /readyz that takes longer hangs
	listenRecovery = 15 * time.Second // until the change listener is back
	usageRecovery  = 15 * time.Second // until a use after the restore is recorded
	afterRestore   = 2 * time.Second  // a change made after recovery arrives
	streamWorkers  = 4
	streamPause    = 5 * time.Millisecond
	streamMax      = 50000 // requests, in case the clock misbehaves
)

func outage(t *testing.T, in instance, target string, style cutStyle, known client, aud string) {
	px := newPGProxy(t, target)
	app := fmt.Sprintf("gatehouse-outage-%s-%d", style, seq.Add(1))
	served := instance{db: viaProxy(t, in.db, px.addr(), url.Values{"application_name": {app}}), masterKey: in.masterKey}
	p := serve(t, "outage server ("+style.String()+")", served, "--addr", "127.0.0.1:0")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.logs())
		}
	})
	p.token(t, known, aud)
	// A management API client, with its token taken before the cut.
	mgmtAud := p.base() + "/api/v2/"
	manager := in.newClient(t, "outage-manager")
	in.grant(t, manager, mgmtAud, "create:clients")
	mgmtToken := p.token(t, manager, mgmtAud)

	// Two more secrets of the known client, revoked during and after the cut.
	secret := func() client {
		c := known
		added := in.admin(t, "client", "secret", "add", known.id)
		c.secret, c.secretID = str(added, "client_secret"), str(added, "id")
		p.token(t, c, aud)
		return c
	}
	revokedDuring, revokedAfter := secret(), secret()

	var (
		stop            atomic.Bool
		cutAt, restored atomic.Int64 // unix nanos, 0 until then
		res             streamResult
		wg              sync.WaitGroup
		total           atomic.Int64
	)
	during := func(at time.Time) bool {
		c, r := cutAt.Load(), restored.Load()
		return c != 0 && at.UnixNano() >= c && (r == 0 || at.UnixNano() < r)
	}
	for range streamWorkers {
		wg.Go(func() {
			for !stop.Load() && total.Add(1) <= streamMax {
				sent := time.Now()
				r, err := p.postToken(known, aud)
				switch {
				case err == nil && r.status == http.StatusOK:
					res.ok.Add(1)
					if during(sent) && during(time.Now()) {
						res.okDuringCut.Add(1)
					}
				default:
					res.failed.Add(1)
					res.mu.Lock()
					if len(res.firstFailure) < 5 {
						res.firstFailure = append(res.firstFailure, fmt.Sprintf("%s: %v %v", sent.Format(time.StampMilli), r, err))
					}
					res.mu.Unlock()
				}
				time.Sleep(streamPause)
			}
		})
	}
	var probes []readyProbe
	var probesMu sync.Mutex
	readyClient := &http.Client{Timeout: readyTimeout}
	wg.Go(func() {
		for !stop.Load() {
			pr := readyProbe{at: time.Now()}
			resp, err := readyClient.Get(p.base() + "/readyz")
			pr.took = time.Since(pr.at)
			if err != nil {
				pr.err = err
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				pr.status, pr.body = resp.StatusCode, strings.TrimSpace(string(b))
			}
			probesMu.Lock()
			probes = append(probes, pr)
			probesMu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	})
	// readySince returns the first probe sent at or after since that
	// answered status.
	readySince := func(since time.Time, status int) (readyProbe, bool) {
		probesMu.Lock()
		defer probesMu.Unlock()
		for _, pr := range probes {
			if !pr.at.Before(since) && pr.status == status {
				return pr, true
			}
		}
		return readyProbe{}, false
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()

	time.Sleep(outageBefore)
	if _, ok := readySince(time.Time{}, http.StatusOK); !ok {
		probesMu.Lock()
		defer probesMu.Unlock()
		t.Fatalf("/readyz was not 200 before the cut: %v", probes)
	}

	// The cut.
	begin := time.Now()
	cutAt.Store(begin.UnixNano())
	px.cutOff(style)
	// What the command line changes meanwhile, directly on the database.
	if r := in.run(t, nil, "client", "secret", "revoke", known.id, revokedDuring.secretID); r.code != 0 {
		t.Fatalf("secret revoke during the cut (direct): exit %d: %s", r.code, r.stderr)
	}
	// An admin write through the cut connection fails, in one line that
	// names the database and not the password, and writes nothing.
	cutDSN := viaProxy(t, in.db, px.addr(), url.Values{"connect_timeout": {"2"}})
	cu, _ := url.Parse(cutDSN)
	cu.User = url.UserPassword("postgres", "not-this-password")
	cutName := fmt.Sprintf("created-during-%s-cut", style)
	r := in.run(t, nil, "client", "create", "--name", cutName, "--db", cu.String())
	checkOutageError(t, r, px.addr(), "not-this-password")
	t.Logf("client create through the cut connection: exit %d, done %s into the cut: %s",
		r.code, r.exited.Sub(begin).Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if style == cutReset {
		checkManagementOutage(t, p, mgmtToken)
	}
	time.Sleep(time.Until(begin.Add(style.length())))
	syncFailing := logged(p, "catalog sync failing; serving the last good catalog")

	// The restore.
	px.restore()
	back := time.Now()
	restored.Store(back.UnixNano())
	t.Logf("%s cut: %s", style, back.Sub(begin).Round(time.Millisecond))

	deadline := back.Add(outageRecovery)
	var ready readyProbe
	for {
		var ok bool
		if ready, ok = readySince(back, http.StatusOK); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 again %s after the restore", outageRecovery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("/readyz 200 again %s after the restore", ready.at.Add(ready.took).Sub(back).Round(time.Millisecond))

	// The change made during the cut has arrived, or does within the
	// propagation time of a change made now.
	refused := func(c client) func(p *proc) (bool, string) {
		return func(p *proc) (bool, string) {
			r, err := p.postToken(c, aud)
			if err != nil {
				t.Fatal(err)
			}
			return r.status == http.StatusUnauthorized && str(r.body, "error") == "invalid_client", r.String()
		}
	}
	within(t, time.Now(), afterRestore, "the secret revoked during the cut", []*proc{p}, refused(revokedDuring))
	r = in.run(t, nil, "client", "secret", "revoke", known.id, revokedAfter.secretID)
	if r.code != 0 {
		t.Fatalf("secret revoke after the restore: exit %d: %s", r.code, r.stderr)
	}
	within(t, r.exited, afterRestore, "a secret revoked after the restore", []*proc{p}, refused(revokedAfter))

	// The change listener has reconnected: a session of this server that
	// listens, started after the restore.
	listening := waitListener(t, target, in, app, back, listenRecovery)
	t.Logf("change listener back %s after the restore", listening.Round(time.Millisecond))

	// The batched last-use times are written again: the first use of a
	// secret added after the restore reaches the database (a first use is
	// due at the next flush, every 5 s; later ones only every 1-2 minutes,
	// so the stream's own secret would prove nothing here).
	added := in.admin(t, "client", "secret", "add", known.id)
	fresh := known
	fresh.secret, fresh.secretID = str(added, "client_secret"), str(added, "id")
	within(t, time.Now(), afterRestore, "a secret added after the restore", []*proc{p}, func(p *proc) (bool, string) {
		r, err := p.postToken(fresh, aud)
		if err != nil {
			t.Fatal(err)
		}
		return r.status == http.StatusOK, r.String()
	})
	used := waitLastUse(t, in, fresh, back, usageRecovery)
	t.Logf("last use recorded again %s after the restore", used.Round(time.Millisecond))

	stop.Store(true)
	wg.Wait()

	// Nothing was written by the refused command.
	var clients []map[string]any
	list := in.run(t, nil, "client", "list", "--json")
	if err := json.Unmarshal([]byte(list.stdout), &clients); err != nil {
		t.Fatalf("client list: %v in %q", err, list.stdout)
	}
	for _, c := range clients {
		if str(c, "name") == cutName {
			t.Errorf("the client created through the cut connection exists: %v", c)
		}
	}

	t.Logf("token requests: %d ok (%d during the cut), %d failed", res.ok.Load(), res.okDuringCut.Load(), res.failed.Load())
	if n := res.failed.Load(); n > 0 {
		t.Errorf("%d token requests of the known client failed; first: %s", n, strings.Join(res.firstFailure, "; "))
	}
	if res.okDuringCut.Load() == 0 {
		t.Errorf("no token request was issued during the cut: the stream did not run through it")
	}

	var unready, slowest time.Duration
	var sawUnready bool
	for _, pr := range probes {
		slowest = max(slowest, pr.took)
		if pr.err != nil {
			t.Errorf("/readyz at %s did not answer within %s: %v", pr.at.Format(time.StampMilli), readyTimeout, pr.err)
			continue
		}
		if pr.status != http.StatusOK && pr.status != http.StatusServiceUnavailable {
			t.Errorf("/readyz at %s: HTTP %d %s", pr.at.Format(time.StampMilli), pr.status, pr.body)
		}
		if pr.status == http.StatusServiceUnavailable && !pr.at.Before(begin) && pr.at.Before(back) {
			if !sawUnready {
				unready = pr.at.Add(pr.took).Sub(begin)
			}
			sawUnready = true
		}
	}
	if !sawUnready {
		t.Errorf("/readyz never answered 503 during the cut: %v", probes)
	} else {
		t.Logf("/readyz 503 %s into the cut; slowest /readyz %s", unready.Round(time.Millisecond), slowest.Round(time.Millisecond))
	}
	if last := probes[len(probes)-1]; last.status != http.StatusOK {
		t.Errorf("the last /readyz was %d %s, want 200", last.status, last.body)
	}

	// The server said so, once per outage: no log line per tick.
	if style == cutBlackhole && syncFailing == 0 {
		t.Errorf("the server did not log during a %s blackhole that its catalog sync fails: the sync hangs", style.length())
	}
	for _, msg := range []string{
		"catalog sync failing; serving the last good catalog", "catalog sync recovered",
		"could not record secret last use; will retry", "recording secret last use again",
	} {
		if n := logged(p, msg); n > 1 {
			t.Errorf("the server logged %q %d times in one outage, want at most once", msg, n)
		}
	}
	if logged(p, "catalog sync failing; serving the last good catalog") != logged(p, "catalog sync recovered") {
		t.Errorf("the server logged that its catalog sync failed but not that it recovered")
	}
	if logged(p, "could not record secret last use; will retry") != logged(p, "recording secret last use again") {
		t.Errorf("the server logged that it could not record last use but not that it does again")
	}
}

// waitLastUse waits until the database records a use of c's secret at or
// after since (to the second, as the command line shows it), and returns
// how long after since that was noticed.
func waitLastUse(t *testing.T, in instance, c client, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		r := in.run(t, nil, "client", "secret", "list", c.id, "--json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("secret list: %v in %q (%s)", err, r.stdout, r.stderr)
		}
		for _, sec := range list {
			if str(sec, "id") != c.secretID {
				continue
			}
			last, err := time.Parse(time.RFC3339, str(sec, "last_used_at"))
			if err == nil && !last.Before(since.Truncate(time.Second)) {
				return time.Since(since)
			}
		}
		if time.Since(since) > limit {
			t.Fatalf("no use of the secret after the restore recorded within %s: %v", limit, list)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// logged counts the server's log records with that message.
func logged(p *proc, msg string) int {
	n := 0
	for _, line := range p.stderr.all() {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			n++
		}
	}
	return n
}

// checkManagementOutage sends a management API write to p while its
// database refuses connections: 503 with Retry-After, in Auth0's error
// shape, saying that the database is unreachable (a 500 would tell the
// caller that its request is wrong, not to try again).
func checkManagementOutage(t *testing.T, p *proc, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base()+"/api/v2/clients", strings.NewReader(`{"name":"created during the cut"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("management write during the cut: %v", err)
		return
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	msg, _ := body["message"].(string)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		body["errorCode"] != "temporarily_unavailable" || !strings.Contains(msg, "the database is unreachable") {
		t.Errorf("management write during the cut: %d, Retry-After %q, %v; want 503 with Retry-After saying the database is unreachable",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// checkOutageError checks the result of an admin command against an
// unreachable database: non-zero, one line on stderr that says so and
// names the database's address, never the password.
func checkOutageError(t *testing.T, r cliResult, addr, password string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("admin command against an unreachable database: exit 0, stdout %q", r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("admin command against an unreachable database printed %q on stdout", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "gatehouse: the database is unreachable: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr %q is not one line \"gatehouse: the database is unreachable: ...\"", r.stderr)
	}
	if !strings.Contains(r.stderr, addr+"/") {
		t.Errorf("stderr %q does not name the database %s", r.stderr, addr)
	}
	if strings.Contains(r.stderr, password) {
		t.Errorf("stderr %q shows the password", r.stderr)
	}
}

// waitListener waits until the server's change listener — a session with
// the application name that last ran LISTEN — has connected after since,
// and returns how long after since that was noticed.
func waitListener(t *testing.T, target string, in instance, app string, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit+5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, in.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE 'LISTEN %' AND backend_start > $2`, app, since).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return time.Since(since)
		}
		if time.Since(since) > limit {
			t.Fatalf("no change listener of the server connected within %s after the restore", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnreachablePostgres runs admin writes against a PostgreSQL address
// where nothing listens: each exits non-zero at once with one line that
// names the database (host:port/db) and never the password.
func TestUnreachablePostgres(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	in := instance{db: "postgres://gatehouse:not-this-password@" + addr + "/gatehouse?sslmode=disable", masterKey: newMasterKey()}
	for _, args := range [][]string{
		{"client", "create", "--name", "x"},
		{"api", "create", "--identifier", "https://api.unreachable.test"},
		{"grant", "create", "--client", "c", "--audience", "https://api.unreachable.test"},
		{"client", "secret", "revoke", "c", "s"},
		{"key", "rotate"},
		{"migrate"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := in.run(t, nil, args...)
			checkOutageError(t, r, addr, "not-this-password")
		})
	}
}
