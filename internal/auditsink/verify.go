package auditsink

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/raas-console/console/internal/audit"
)

// maxLine bounds one received line: an event with a large before/after fits many times.
const maxLine = 16 << 20

// FileReport is what VerifyNDJSON found in a received file.
type FileReport struct {
	Lines      int64  // non-empty lines read
	Events     int64  // distinct events
	Duplicates int64  // lines repeating an event already read, with the same content
	First      int64  // the first seq, 0 when the file holds none
	Last       int64  // the last seq
	LastHash   []byte // the last event's hash
	Break      *audit.Break
}

// Intact reports whether the file verified.
func (r FileReport) Intact() bool { return r.Break == nil }

// String summarises the report in one line.
func (r FileReport) String() string {
	s := fmt.Sprintf("events=%d (seq %d–%d) lines=%d duplicates=%d hash=%s",
		r.Events, r.First, r.Last, r.Lines, r.Duplicates, hex.EncodeToString(r.LastHash))
	if r.Break != nil {
		return "BROKEN at " + r.Break.String() + ": " + s
	}
	return "intact: " + s
}

// VerifyNDJSON checks a file received from the audit stream: lines of the NDJSON export,
// or Splunk HEC envelopes whose "event" is such a line. The events must form a contiguous
// run of seq from 1 (from any seq when partial is set); each must hash to its hash and link
// to the one before by prevHash. An event may appear again — at-least-once delivery sends
// some twice — only with the same content. It stops at the first problem, which the
// report names by seq; the error is for a file that cannot be read at all.
func VerifyNDJSON(r io.Reader, partial bool) (FileReport, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	v := fileVerifier{seen: map[int64][audit.HashSize]byte{}, partial: partial}
	for sc.Scan() && v.report.Break == nil {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		v.report.Lines++
		v.line(line)
	}
	if err := sc.Err(); err != nil {
		return v.report, fmt.Errorf("auditsink: verify: line %d: %w", v.report.Lines+1, err)
	}
	return v.report, nil
}

// fileVerifier checks received lines one at a time.
type fileVerifier struct {
	report  FileReport
	partial bool
	seen    map[int64][audit.HashSize]byte // each event's hash, to compare repeats
}

func (v *fileVerifier) fail(seq int64, format string, args ...any) {
	v.report.Break = &audit.Break{Seq: seq, Problem: fmt.Sprintf(format, args...)}
}

// line checks one line against itself and what came before.
func (v *fileVerifier) line(line []byte) {
	e, err := eventOfLine(line)
	if err != nil {
		seq := e.Seq // the line's seq when it could be read, else where the run stands
		if seq <= 0 {
			seq = v.report.Last + 1
		}
		v.fail(seq, "line %d is not a valid audit event: %v", v.report.Lines, err)
		return
	}
	if ok, err := audit.HashHolds(e); err != nil || !ok {
		v.fail(e.Seq, "hash mismatch: the event's content was altered")
		return
	}
	if prior, ok := v.seen[e.Seq]; ok {
		if !bytes.Equal(prior[:], e.Hash) {
			v.fail(e.Seq, "seq %d appears twice with different content", e.Seq)
			return
		}
		v.report.Duplicates++
		return
	}
	v.next(e)
}

// next checks an event not seen before: it must follow the last one.
func (v *fileVerifier) next(e audit.Event) {
	switch {
	case v.report.Events == 0 && e.Seq != 1 && !v.partial:
		v.fail(1, "event missing: the file starts at seq %d, not 1", e.Seq)
		return
	case v.report.Events == 0:
		v.report.First = e.Seq
		if e.Seq == 1 && !bytes.Equal(e.PrevHash, make([]byte, audit.HashSize)) {
			v.fail(1, "prevHash mismatch: the first event must link to the zero hash")
			return
		}
	case e.Seq != v.report.Last+1:
		v.fail(v.report.Last+1, "event missing: seq %d is followed by seq %d", v.report.Last, e.Seq)
		return
	case !bytes.Equal(e.PrevHash, v.report.LastHash):
		v.fail(e.Seq, "prevHash mismatch: the event does not link to seq %d (replaced or reordered)", v.report.Last)
		return
	}
	v.report.Events++
	v.report.Last, v.report.LastHash = e.Seq, e.Hash
	v.seen[e.Seq] = [audit.HashSize]byte(e.Hash)
}

// eventOfLine reads an export line, or the "event" of a Splunk HEC envelope, and checks
// its action's description, which the hash does not cover.
func eventOfLine(line []byte) (audit.Event, error) {
	var envelope struct {
		Seq   *int64          `json:"seq"`
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(line, &envelope); err != nil {
		return audit.Event{}, err
	}
	if envelope.Seq == nil && len(envelope.Event) > 0 {
		line = envelope.Event
	}
	var r audit.Record
	if err := json.Unmarshal(line, &r); err != nil {
		return audit.Event{}, err
	}
	if r.Seq <= 0 {
		return audit.Event{}, errors.New("no seq")
	}
	if audit.Known(audit.Action(r.Action)) && r.ActionDescription != audit.Action(r.Action).Describe() {
		return audit.Event{Seq: r.Seq}, fmt.Errorf("actionDescription does not describe %s (altered)", r.Action)
	}
	e, err := audit.EventOf(r)
	if err != nil {
		return audit.Event{Seq: r.Seq}, err
	}
	return e, nil
}
