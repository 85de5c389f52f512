package interop_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// issued records every credential the suite was given — client secrets
// from the command line's output, access tokens from the token endpoint —
// and every server and command-line process, so that checkLeaks can assert
// at the end of the run that no log line of any of them holds one (issue 5:
// never a secret, token or master key in a log line).
var issued struct {
	mu      sync.Mutex
	values  map[string]bool
	procs   []*proc
	cliLogs []string // stderr of command-line runs
}

var credentialShape = regexp.MustCompile(`gths_[A-Za-z0-9_-]{40,}|eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// recordCredentials notes every secret and JWT in out (a command's stdout or
// a token response body).
func recordCredentials(out string) {
	found := credentialShape.FindAllString(out, -1)
	if len(found) == 0 {
		return
	}
	issued.mu.Lock()
	defer issued.mu.Unlock()
	if issued.values == nil {
		issued.values = map[string]bool{}
	}
	for _, v := range found {
		issued.values[v] = true
	}
}

func recordProc(p *proc) {
	issued.mu.Lock()
	issued.procs = append(issued.procs, p)
	issued.mu.Unlock()
}

func recordCLILog(stderr string) {
	if stderr == "" {
		return
	}
	issued.mu.Lock()
	issued.cliLogs = append(issued.cliLogs, stderr)
	issued.mu.Unlock()
}

// checkLeaks returns one line per leak: which process's log holds which
// kind of credential.
func checkLeaks() []string {
	issued.mu.Lock()
	defer issued.mu.Unlock()
	values := make([]string, 0, len(issued.values))
	for v := range issued.values {
		values = append(values, v)
	}
	var out []string
	var keys [][]byte
	for _, p := range issued.procs {
		if k, err := base64.StdEncoding.DecodeString(p.masterKey); err == nil {
			keys = append(keys, k)
		}
	}
	for _, p := range issued.procs {
		for _, l := range testutil.Leaks(strings.Join(p.stderr.all(), "\n"), values, keys...) {
			out = append(out, fmt.Sprintf("log of %s: %s", p.name, l))
		}
	}
	for i, s := range issued.cliLogs {
		for _, l := range testutil.Leaks(s, values, keys...) {
			out = append(out, fmt.Sprintf("stderr of command-line run %d: %s", i, l))
		}
	}
	return out
}
