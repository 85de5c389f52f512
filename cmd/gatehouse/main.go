// Command gatehouse is an OAuth 2.0 authorization server for
// machine-to-machine API access; see internal/cli for its commands.
package main

import (
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}))
}
