package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Format is an export file format.
type Format string

// The export formats.
const (
	FormatCSV    Format = "csv"
	FormatNDJSON Format = "ndjson"
)

// ContentType is the MIME type of the format, UTF-8.
func (f Format) ContentType() string {
	if f == FormatCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson; charset=utf-8"
}

// flushEvery is how many rows an export writes between flushes to the client.
const flushEvery = 1000

// Record is one exported event: the keys of an NDJSON line and, in this order, the
// columns of a CSV row. Times are RFC 3339 UTC with microseconds, hashes lower-case hex.
type Record struct {
	Seq               int64           `json:"seq"`
	Time              string          `json:"time"`
	ActorID           int64           `json:"actorId,omitempty"`
	ActorEmail        string          `json:"actorEmail"`
	ActorRole         string          `json:"actorRole"`
	Action            string          `json:"action"`
	ActionDescription string          `json:"actionDescription"`
	TargetType        string          `json:"targetType"`
	TargetID          string          `json:"targetId"`
	TargetLabel       string          `json:"targetLabel"`
	Reason            string          `json:"reason"`
	Outcome           string          `json:"outcome"`
	Detail            json.RawMessage `json:"detail"`
	Before            json.RawMessage `json:"before,omitempty"`
	After             json.RawMessage `json:"after,omitempty"`
	UpstreamStatus    int             `json:"upstreamStatus,omitempty"`
	UpstreamError     string          `json:"upstreamError,omitempty"`
	TraceID           string          `json:"traceId,omitempty"`
	RequestID         string          `json:"requestId"`
	ClientIP          string          `json:"clientIp"`
	UserAgent         string          `json:"userAgent"`
	IntentSeq         int64           `json:"intentSeq,omitempty"`
	PrevHash          string          `json:"prevHash"`
	Hash              string          `json:"hash"`
}

// csvHeader names the CSV columns, in Record's order.
var csvHeader = []string{"seq", "time", "actor_id", "actor_email", "actor_role", "action", "action_description",
	"target_type", "target_id", "target_label", "reason", "outcome", "detail", "before", "after",
	"upstream_status", "upstream_error", "trace_id", "request_id", "client_ip", "user_agent",
	"intent_seq", "prev_hash", "hash"}

// CSVHeader returns the CSV header row.
func CSVHeader() []string { return append([]string(nil), csvHeader...) }

// RecordOf is e as exported.
func RecordOf(e Event) Record {
	return Record{
		Seq: e.Seq, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		ActorID: e.Actor.OperatorID, ActorEmail: e.Actor.Email, ActorRole: e.Actor.Role,
		Action: string(e.Action), ActionDescription: e.Action.Describe(),
		TargetType: e.Target.Type, TargetID: e.Target.ID, TargetLabel: e.Target.Label,
		Reason: e.Reason, Outcome: string(e.Outcome),
		Detail: e.Detail, Before: e.Before, After: e.After,
		UpstreamStatus: e.UpstreamStatus, UpstreamError: e.UpstreamError, TraceID: e.TraceID,
		RequestID: e.RequestID, ClientIP: e.ClientIP, UserAgent: e.UserAgent, IntentSeq: e.IntentSeq,
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	}
}

// CSVRow is r as CSV cells, each neutralised against spreadsheet formulas.
func (r Record) CSVRow() []string {
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	row := []string{strconv.FormatInt(r.Seq, 10), r.Time, num(r.ActorID), r.ActorEmail, r.ActorRole,
		r.Action, r.ActionDescription, r.TargetType, r.TargetID, r.TargetLabel, r.Reason, r.Outcome,
		string(r.Detail), string(r.Before), string(r.After), num(int64(r.UpstreamStatus)), r.UpstreamError,
		r.TraceID, r.RequestID, r.ClientIP, r.UserAgent, num(r.IntentSeq), r.PrevHash, r.Hash}
	for i, cell := range row {
		row[i] = NeutraliseCell(cell)
	}
	return row
}

// NeutraliseCell keeps a spreadsheet from reading a CSV cell as a formula: a value that
// starts with =, +, -, @, a tab or a carriage return gets a leading apostrophe.
func NeutraliseCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// flusher is a writer that can push what it holds to the client, as an
// http.ResponseWriter can.
type flusher interface{ Flush() }

// Export writes every event f selects up to seq through (zero means no bound), newest
// first, to w in format, and returns how many rows it wrote. Rows are written as they
// are read and flushed to w every thousand rows (w's Flush is called when it has one), so
// memory stays flat whatever the size. CSV starts with a header row.
func (s *Store) Export(ctx context.Context, f Filter, through int64, format Format, w io.Writer) (int64, error) {
	flushClient := func() {
		if fl, ok := w.(flusher); ok {
			fl.Flush()
		}
	}
	var write func(Record) error
	var done func() error
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return 0, fmt.Errorf("audit: export: %w", err)
		}
		write = func(r Record) error { return cw.Write(r.CSVRow()) }
		done = func() error { cw.Flush(); return cw.Error() }
	case FormatNDJSON:
		bw := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		write = func(r Record) error { return enc.Encode(r) }
		done = bw.Flush
	default:
		return 0, fmt.Errorf("audit: export: unknown format %q", format)
	}
	written := 0
	n, err := s.Each(ctx, f, through, func(e Event) error {
		if err := write(RecordOf(e)); err != nil {
			return err
		}
		if written++; written%flushEvery == 0 {
			if err := done(); err != nil {
				return err
			}
			flushClient()
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	if err := done(); err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	flushClient()
	return n, nil
}
