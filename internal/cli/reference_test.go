package cli_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

// TestCLIReferenceUpToDate fails when docs/reference/cli.md no longer says
// what the commands and flags are.
func TestCLIReferenceUpToDate(t *testing.T) {
	var b bytes.Buffer
	if err := cli.WriteReference(&b); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/reference/cli.md")
	if err != nil || !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("docs/reference/cli.md is stale (%v): regenerate it with `go generate ./internal/cli`", err)
	}
}
