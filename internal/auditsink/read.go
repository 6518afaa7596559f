package auditsink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
)

// pending is events read and encoded, not yet delivered.
type pending struct {
	first, last int64
	lines       [][]byte
	times       []time.Time // each event's time, for the lag
	lastHash    []byte
}

func (p *pending) len() int { return len(p.lines) }

func (p *pending) batch() Batch { return Batch{First: p.first, Last: p.last, Lines: p.lines} }

// readAfter appends to p the events after seq after, at most limit, read in one query
// and encoded as export lines.
func readAfter(ctx context.Context, pool *pgxpool.Pool, after int64, limit int, p *pending) error {
	enc := newLineEncoder()
	return audit.ReadAfter(ctx, pool, after, limit, func(e audit.Event) error {
		line, err := enc.line(e)
		if err != nil {
			return err
		}
		p.add(e, line)
		return nil
	})
}

func (p *pending) add(e audit.Event, line []byte) {
	if len(p.lines) == 0 {
		p.first = e.Seq
	}
	p.last, p.lastHash = e.Seq, e.Hash
	p.lines = append(p.lines, bytes.Clone(line))
	p.times = append(p.times, e.Time)
}

// Line is e as one line of the NDJSON export, without the newline: what sinks receive.
func Line(e audit.Event) ([]byte, error) { return newLineEncoder().line(e) }

// lineEncoder encodes events as the export's NDJSON lines, reusing one buffer.
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newLineEncoder() *lineEncoder {
	l := &lineEncoder{}
	l.enc = json.NewEncoder(&l.buf)
	l.enc.SetEscapeHTML(false) // as the export writes it
	return l
}

// line is e's line, valid until the next call (the caller copies it).
func (l *lineEncoder) line(e audit.Event) ([]byte, error) {
	l.buf.Reset()
	if err := l.enc.Encode(audit.RecordOf(e)); err != nil {
		return nil, fmt.Errorf("auditsink: encode event %d: %w", e.Seq, err)
	}
	return bytes.TrimSuffix(l.buf.Bytes(), []byte("\n")), nil
}
