package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func fullEvent() Event {
	return Event{
		Seq:            42,
		Time:           time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC),
		Actor:          Actor{OperatorID: 7, Email: "ops@example.com", Role: "admin"},
		Action:         ActionCustomerUpdate,
		Target:         Target{Type: "customer", ID: "c-1", Label: "c@example.com"},
		Reason:         "TICKET-1",
		Outcome:        OutcomeSucceeded,
		Detail:         json.RawMessage(`{"a":1}`),
		Before:         json.RawMessage(`{"city":"A"}`),
		After:          json.RawMessage(`{"city":"B"}`),
		UpstreamStatus: 200,
		UpstreamError:  "e",
		TraceID:        "t",
		RequestID:      "r",
		ClientIP:       "192.0.2.1",
		UserAgent:      "ua",
		IntentSeq:      41,
	}
}

func TestCanonicalEncodingCoversEveryField(t *testing.T) {
	prev := bytes.Repeat([]byte{1}, HashSize)
	base, err := computeHash(prev, fullEvent())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Event)
	}{
		{"seq", func(e *Event) { e.Seq++ }},
		{"time by a microsecond", func(e *Event) { e.Time = e.Time.Add(time.Microsecond) }},
		{"operator id", func(e *Event) { e.Actor.OperatorID = 8 }},
		{"operator id absent", func(e *Event) { e.Actor.OperatorID = 0 }},
		{"actor email", func(e *Event) { e.Actor.Email = "x@example.com" }},
		{"actor role", func(e *Event) { e.Actor.Role = "support" }},
		{"action", func(e *Event) { e.Action = ActionCustomerView }},
		{"target type", func(e *Event) { e.Target.Type = "operator" }},
		{"target id", func(e *Event) { e.Target.ID = "c-2" }},
		{"target label", func(e *Event) { e.Target.Label = "d@example.com" }},
		{"reason", func(e *Event) { e.Reason = "TICKET-2" }},
		{"outcome", func(e *Event) { e.Outcome = OutcomeFailed }},
		{"detail", func(e *Event) { e.Detail = json.RawMessage(`{"a":2}`) }},
		{"detail whitespace", func(e *Event) { e.Detail = json.RawMessage(`{"a": 1}`) }},
		{"before", func(e *Event) { e.Before = json.RawMessage(`{"city":"C"}`) }},
		{"before absent", func(e *Event) { e.Before = nil }},
		{"before as string null", func(e *Event) { e.Before = json.RawMessage(`null`) }},
		{"after", func(e *Event) { e.After = json.RawMessage(`{"city":"C"}`) }},
		{"after absent", func(e *Event) { e.After = nil }},
		{"upstream status", func(e *Event) { e.UpstreamStatus = 500 }},
		{"upstream error", func(e *Event) { e.UpstreamError = "f" }},
		{"trace id", func(e *Event) { e.TraceID = "u" }},
		{"request id", func(e *Event) { e.RequestID = "s" }},
		{"client ip", func(e *Event) { e.ClientIP = "192.0.2.2" }},
		{"user agent", func(e *Event) { e.UserAgent = "ub" }},
		{"intent seq", func(e *Event) { e.IntentSeq = 40 }},
		{"intent seq absent", func(e *Event) { e.IntentSeq = 0 }},
		// Moving text between neighbouring fields must not give the same encoding.
		{"text shifted between fields", func(e *Event) { e.Actor.Email, e.Actor.Role = "ops@example.comadmin", "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fullEvent()
			tt.change(&e)
			got, err := computeHash(prev, e)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, base) {
				t.Fatalf("changing %s did not change the hash", tt.name)
			}
		})
	}
	t.Run("prev hash", func(t *testing.T) {
		got, _ := computeHash(make([]byte, HashSize), fullEvent())
		if bytes.Equal(got, base) {
			t.Fatal("changing the previous hash did not change the hash")
		}
	})
	t.Run("deterministic and zone independent", func(t *testing.T) {
		e := fullEvent()
		e.Time = e.Time.In(time.FixedZone("CET", 3600)).Add(789 * time.Nanosecond)
		got, _ := computeHash(prev, e)
		if !bytes.Equal(got, base) {
			t.Fatal("the same instant in another zone, or below a microsecond, hashed differently")
		}
	})
}

func TestCanonicalEncodingIsStable(t *testing.T) {
	// The stored chain depends on this exact text; changing it breaks every existing log.
	got, err := canonical(fullEvent())
	if err != nil {
		t.Fatal(err)
	}
	want := `["audit-event-v1",42,"2026-03-01T09:00:00.123456Z",7,"ops@example.com","admin","customer.update",` +
		`"customer","c-1","c@example.com","TICKET-1","succeeded","{\"a\":1}","{\"city\":\"A\"}","{\"city\":\"B\"}",` +
		`200,"e","t","r","192.0.2.1","ua",41]`
	if string(got) != want {
		t.Fatalf("canonical =\n%s\nwant\n%s", got, want)
	}
}

func TestVerifierOnSyntheticChain(t *testing.T) {
	chain := make([]Event, 5)
	prev := zeroHash()
	for i := range chain {
		e := fullEvent()
		e.Seq, e.IntentSeq, e.PrevHash = int64(i+1), 0, prev
		e.Hash, _ = computeHash(prev, e)
		prev = e.Hash
		chain[i] = e
	}
	run := func(events []Event) VerifyReport {
		v := newVerifier()
		for _, e := range events {
			if err := v.check(e); err != nil {
				t.Fatal(err)
			}
		}
		return v.report
	}
	if r := run(chain); !r.Intact() || r.HeadSeq != 5 || !bytes.Equal(r.HeadHash, chain[4].Hash) {
		t.Fatalf("intact chain: %s", r)
	}
	if r := run(nil); !r.Intact() || r.HeadSeq != 0 || !bytes.Equal(r.HeadHash, zeroHash()) {
		t.Fatalf("empty chain: %s", r)
	}
	reordered := []Event{chain[0], chain[2], chain[1], chain[3], chain[4]}
	reordered[1].Seq, reordered[2].Seq = 2, 3
	if r := run(reordered); r.First == nil || r.First.Seq != 2 {
		t.Fatalf("reordered chain: %s", r)
	}
}

func TestBreakString(t *testing.T) {
	b := Break{Seq: 17, Problem: "hash mismatch: the row's content was altered"}
	if got := b.String(); got != "seq=17: hash mismatch: the row's content was altered" {
		t.Fatalf("String() = %q", got)
	}
	r := VerifyReport{RowsChecked: 20, HeadSeq: 20, HeadHash: zeroHash(), First: &b, Breaks: 1}
	if !strings.Contains(r.String(), "seq=17: hash mismatch") {
		t.Fatalf("report = %q", r)
	}
}
