package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/raas-console/console/internal/auditsink"
)

// wantsNDJSON reports whether `console audit verify` was given a received file to check
// (--ndjson), which needs no database.
func wantsNDJSON(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		return strings.HasPrefix(a, "-") && name == "ndjson"
	})
}

// auditVerifyNDJSON runs `console audit verify --ndjson FILE [--partial]`: it checks a
// file received from the audit stream (NDJSON export lines or Splunk HEC envelopes) and
// exits 1 naming the first bad seq.
func auditVerifyNDJSON(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("console audit verify --ndjson", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("ndjson", "", "a file received from the audit stream: NDJSON export lines or Splunk HEC envelopes")
	partial := fs.Bool("partial", false, "the file may start after seq 1 (its first event is then taken on trust)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError{code: 2}
	}
	if *file == "" || fs.NArg() > 0 {
		return exitError{code: 2, msg: "console audit verify: --ndjson FILE takes one file and no other argument"}
	}
	f, err := os.Open(*file)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("console audit verify: %v", err)}
	}
	defer f.Close()
	report, err := auditsink.VerifyNDJSON(f, *partial)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("console audit verify: %s: %v", *file, err)}
	}
	fmt.Fprintln(stdout, report.String())
	if !report.Intact() {
		return exitError{code: 1, msg: report.Break.String()}
	}
	return nil
}
