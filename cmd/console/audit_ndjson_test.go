package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

// exportedLines is a real NDJSON export of a seeded log, oldest first.
func exportedLines(t *testing.T) [][]byte {
	t.Helper()
	ctx := context.Background()
	store := audit.NewStore(dbtest.New(t))
	if _, err := store.Seed(ctx, audit.SeedOptions{Events: 30, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := store.Export(ctx, audit.Filter{}, 0, audit.FormatNDJSON, &buf); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 { // the export is newest first
		lines[i], lines[j] = lines[j], lines[i]
	}
	return lines
}

func TestAuditVerifyNDJSON(t *testing.T) {
	lines := exportedLines(t)
	clone := func() [][]byte { return append([][]byte(nil), lines...) }
	changed := clone()
	changed[11] = bytes.Replace(changed[11], []byte(`"actorEmail":"`), []byte(`"actorEmail":"x`), 1)
	removed := append(clone()[:7], lines[8:]...)
	swapped := clone()
	swapped[19], swapped[20] = swapped[20], swapped[19]
	duplicate := append(clone(), changed[11])
	resent := append(clone()[:25], lines[15:]...)
	for _, tc := range []struct {
		name  string
		lines [][]byte
		seq   string // the seq the failure names; empty when the file must verify
	}{
		{"a real export", lines, ""},
		{"resent events", resent, ""},
		{"a changed field", changed, "seq=12"},
		{"a removed line", removed, "seq=8"},
		{"swapped lines", swapped, "seq=20"},
		{"a duplicate with other content", duplicate, "seq=12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "received.ndjson")
			if err := os.WriteFile(file, append(bytes.Join(tc.lines, []byte("\n")), '\n'), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"--ndjson", file}
			if !wantsNDJSON(args) {
				t.Fatal("--ndjson not recognised")
			}
			var out, errOut bytes.Buffer
			err := auditVerifyNDJSON(args, &out, &errOut)
			if tc.seq == "" {
				if err != nil || !strings.HasPrefix(out.String(), "intact: events=30") {
					t.Fatalf("verify = %v\n%s", err, out.String())
				}
				return
			}
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 1 || !strings.HasPrefix(ee.msg, tc.seq+":") {
				t.Fatalf("verify = %v, want exit 1 naming %s\n%s", err, tc.seq, out.String())
			}
		})
	}
}

func TestAuditVerifyNDJSONUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	var ee exitError
	if err := auditVerifyNDJSON([]string{"--ndjson"}, &out, &errOut); !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("no file: %v", err)
	}
	if err := auditVerifyNDJSON([]string{"--ndjson", "/nonexistent"}, &out, &errOut); !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("missing file: %v", err)
	}
	if wantsNDJSON([]string{"--checkpoint", "ndjson"}) || !wantsNDJSON([]string{"-ndjson=x"}) {
		t.Fatal("wantsNDJSON misreads its flags")
	}
}
