// Command gendoc writes the command line reference (docs/reference/cli.md)
// from the commands themselves: go generate ./internal/cli.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

func main() {
	out := flag.String("o", "", "the file to write")
	flag.Parse()
	var b bytes.Buffer
	if err := cli.WriteReference(&b); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
