package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// HashSize is the length in bytes of PrevHash and Hash.
const HashSize = sha256.Size

// encodingVersion opens every canonical encoding, so a future format can be told apart.
const encodingVersion = "audit-event-v1"

// zeroHash is the PrevHash of the first event.
func zeroHash() []byte { return make([]byte, HashSize) }

// canonical is the encoding of e that its hash covers: a JSON array of every stored field
// except the hashes, in a fixed order. Time is RFC 3339 in UTC with at most microseconds
// (what PostgreSQL keeps); JSON fields are embedded as JSON strings of their exact bytes,
// and absent values are null.
func canonical(e Event) ([]byte, error) {
	fields := []any{
		encodingVersion,
		e.Seq,
		e.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano),
		nullIfZero(e.Actor.OperatorID),
		e.Actor.Email,
		e.Actor.Role,
		string(e.Action),
		e.Target.Type,
		e.Target.ID,
		e.Target.Label,
		e.Reason,
		string(e.Outcome),
		rawString(e.Detail),
		rawString(e.Before),
		rawString(e.After),
		nullIfZero(int64(e.UpstreamStatus)),
		e.UpstreamError,
		e.TraceID,
		e.RequestID,
		e.ClientIP,
		e.UserAgent,
		nullIfZero(e.IntentSeq),
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("canonical encoding: %w", err)
	}
	return b, nil
}

func nullIfZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func rawString(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// computeHash is SHA-256(prevHash || canonical(e)).
func computeHash(prevHash []byte, e Event) ([]byte, error) {
	enc, err := canonical(e)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(prevHash)
	h.Write(enc)
	return h.Sum(nil), nil
}

// Break is the first place where the chain does not hold.
type Break struct {
	Seq     int64  // the row that was altered, the first missing seq, or the misplaced row
	Problem string // what is wrong, in words
}

// String formats the break for the verify command: "seq=N: <problem>".
func (b Break) String() string { return fmt.Sprintf("seq=%d: %s", b.Seq, b.Problem) }

// VerifyReport is the result of walking the whole chain.
type VerifyReport struct {
	RowsChecked int64
	HeadSeq     int64  // the last seq seen, zero for an empty log
	HeadHash    []byte // the last row's stored hash, 32 zero bytes for an empty log
	First       *Break // the first break, nil when the chain is intact
	Breaks      int64  // how many rows broke the chain
}

// Intact reports whether the chain verified without a break.
func (r VerifyReport) Intact() bool { return r.First == nil }

// String summarises the report in one line.
func (r VerifyReport) String() string {
	head := fmt.Sprintf("rows=%d head=%d hash=%s", r.RowsChecked, r.HeadSeq, hex.EncodeToString(r.HeadHash))
	if r.First == nil {
		return "intact: " + head
	}
	return fmt.Sprintf("BROKEN at %s (%d broken rows): %s", r.First, r.Breaks, head)
}

// verifier checks rows one at a time in seq order, keeping only the previous row.
type verifier struct {
	report   VerifyReport
	prevSeq  int64
	prevHash []byte
}

func newVerifier() *verifier {
	return &verifier{report: VerifyReport{HeadHash: zeroHash()}, prevHash: zeroHash()}
}

func (v *verifier) fail(seq int64, format string, args ...any) {
	v.report.Breaks++
	if v.report.First == nil {
		v.report.First = &Break{Seq: seq, Problem: fmt.Sprintf(format, args...)}
	}
}

// check verifies e against itself and the row before it. After a break it carries on from
// e's stored hash, so one damaged row is reported once, not as the ruin of every row after.
func (v *verifier) check(e Event) error {
	v.report.RowsChecked++
	want, err := computeHash(e.PrevHash, e)
	if err != nil {
		return err
	}
	switch {
	case e.Seq != v.prevSeq+1 && v.prevSeq == 0:
		v.fail(1, "row missing: the log starts at seq %d, not 1 (rows removed or renumbered)", e.Seq)
	case e.Seq != v.prevSeq+1:
		v.fail(v.prevSeq+1, "row missing: seq %d is followed by seq %d (rows removed or renumbered)", v.prevSeq, e.Seq)
	case !bytes.Equal(want, e.Hash):
		v.fail(e.Seq, "hash mismatch: the row's content was altered")
	case !bytes.Equal(e.PrevHash, v.prevHash):
		if e.Seq == 1 {
			v.fail(e.Seq, "prev_hash mismatch: the first row must link to the zero hash (rows removed or reordered)")
		} else {
			v.fail(e.Seq, "prev_hash mismatch: the row does not link to seq %d (rows removed, replaced or reordered)", v.prevSeq)
		}
	}
	v.prevSeq = e.Seq
	v.prevHash = e.Hash
	v.report.HeadSeq = e.Seq
	v.report.HeadHash = e.Hash
	return nil
}

// Verify walks the whole chain in seq order and reports the first row that was altered
// (its hash does not match its content), removed (a gap in seq) or reordered (its
// prev_hash does not match the row before it). Rows are streamed from one query, so memory
// stays flat however long the log is. Rows removed from the end of the log cannot be seen
// here; compare HeadSeq and HeadHash with an earlier checkpoint for that.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+eventColumns+" FROM audit_events ORDER BY seq")
	if err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	v := newVerifier()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return v.report, fmt.Errorf("audit: verify: seq after %d: %w", v.prevSeq, err)
		}
		if err := v.check(e); err != nil {
			return v.report, fmt.Errorf("audit: verify: seq %d: %w", e.Seq, err)
		}
	}
	if err := rows.Err(); err != nil {
		return v.report, fmt.Errorf("audit: verify: %w", err)
	}
	return v.report, nil
}
