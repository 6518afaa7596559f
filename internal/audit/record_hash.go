package audit

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"time"
)

// recordTimeLayout is how RecordOf writes Time.
const recordTimeLayout = "2006-01-02T15:04:05.000000Z"

// EventOf turns an exported Record back into the Event it was made from, with everything
// its hash covers, so a received copy of the log can be verified without the database.
// JSON fields come back as the bytes of the record (the export writes them compact, as
// the console stores them).
func EventOf(r Record) (Event, error) {
	t, err := time.Parse(recordTimeLayout, r.Time)
	if err != nil {
		return Event{}, fmt.Errorf("audit: record %d: time %q: %w", r.Seq, r.Time, err)
	}
	prev, err := hashOf(r.PrevHash)
	if err != nil {
		return Event{}, fmt.Errorf("audit: record %d: prevHash: %w", r.Seq, err)
	}
	hash, err := hashOf(r.Hash)
	if err != nil {
		return Event{}, fmt.Errorf("audit: record %d: hash: %w", r.Seq, err)
	}
	return Event{
		Seq: r.Seq, Time: t,
		Actor:  Actor{OperatorID: r.ActorID, Email: r.ActorEmail, Role: r.ActorRole},
		Action: Action(r.Action), Target: Target{Type: r.TargetType, ID: r.TargetID, Label: r.TargetLabel},
		Reason: r.Reason, Outcome: Outcome(r.Outcome),
		Detail: r.Detail, Before: r.Before, After: r.After,
		UpstreamStatus: r.UpstreamStatus, UpstreamError: r.UpstreamError, TraceID: r.TraceID,
		RequestID: r.RequestID, ClientIP: r.ClientIP, UserAgent: r.UserAgent, IntentSeq: r.IntentSeq,
		PrevHash: prev, Hash: hash,
	}, nil
}

func hashOf(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != HashSize {
		return nil, fmt.Errorf("want %d bytes, got %d", HashSize, len(b))
	}
	return b, nil
}

// HashHolds reports whether e's Hash is SHA-256(PrevHash || canonical encoding of e),
// exactly as the Store computed it when e was appended.
func HashHolds(e Event) (bool, error) {
	want, err := computeHash(e.PrevHash, e)
	if err != nil {
		return false, fmt.Errorf("audit: hash of event %d: %w", e.Seq, err)
	}
	return bytes.Equal(want, e.Hash), nil
}
