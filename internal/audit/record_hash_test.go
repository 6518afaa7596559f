package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

// TestEventOfRecomputesTheHashOfExportedLines appends varied events, exports them as
// NDJSON and checks that every line, read back, hashes to its stored hash and that a
// changed field does not.
func TestEventOfRecomputesTheHashOfExportedLines(t *testing.T) {
	ctx := context.Background()
	s := NewStore(dbtest.New(t))
	if _, err := s.Seed(ctx, SeedOptions{Events: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	odd := sampleEvent(1)
	odd.Reason = "<b>&</b> \u2028 zażółć \"quoted\""
	odd.Before, odd.After = json.RawMessage(`{"a":[1,2.50,null]}`), json.RawMessage(`{"html":"<x>"}`)
	if _, err := s.Append(ctx, odd); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Export(ctx, Filter{}, 0, FormatNDJSON, &buf); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 301 {
		t.Fatalf("exported %d lines, want 301", len(lines))
	}
	for _, line := range lines {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		e, err := EventOf(r)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := HashHolds(e); err != nil || !ok {
			t.Fatalf("seq %d: hash does not hold (%v): %s", r.Seq, err, line)
		}
		e.Reason += "!"
		if ok, _ := HashHolds(e); ok {
			t.Fatalf("seq %d: a changed reason still hashes the same", r.Seq)
		}
	}
}

func TestEventOfRefusesMalformedFields(t *testing.T) {
	good := RecordOf(Event{Seq: 1, PrevHash: zeroHash(), Hash: zeroHash()})
	for name, change := range map[string]func(*Record){
		"time":      func(r *Record) { r.Time = "yesterday" },
		"prev hash": func(r *Record) { r.PrevHash = "abc" },
		"hash":      func(r *Record) { r.Hash = "zz" },
	} {
		r := good
		change(&r)
		if _, err := EventOf(r); err == nil {
			t.Errorf("%s: malformed record accepted", name)
		}
	}
}
