package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

func TestNeutraliseCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+48 600 100 200":          "'+48 600 100 200",
		"-1+1":                     "'-1+1",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		"plain":                    "plain",
		"a=b":                      "a=b",
		"":                         "",
		`{"a":1}`:                  `{"a":1}`,
	} {
		if got := NeutraliseCell(in); got != want {
			t.Errorf("NeutraliseCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], CSVHeader()) {
		t.Fatalf("CSV header = %v", rows)
	}
	return rows[1:]
}

func TestExportIsExactlyTheFilteredEvents(t *testing.T) {
	s := filterFixture(t)
	ctx := context.Background()
	for _, f := range []Filter{{}, {Action: "customer.*"}, {Target: "jan@example.org", Outcome: OutcomeSucceeded}, {RequestID: "none"}} {
		var want []Event
		var cur Cursor
		for { // every page, as the auditor would page through them
			r, err := s.Search(ctx, f, cur, 2)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r.Events...)
			if r.Older == 0 {
				break
			}
			cur = Cursor{Before: r.Older}
		}

		var csvOut bytes.Buffer
		n, err := s.Export(ctx, f, 0, FormatCSV, &csvOut)
		if err != nil || n != int64(len(want)) {
			t.Fatalf("CSV export %+v: %d rows, %v; want %d", f, n, err, len(want))
		}
		rows := readCSV(t, csvOut.Bytes())
		if len(rows) != len(want) {
			t.Fatalf("CSV %+v has %d rows, want %d", f, len(rows), len(want))
		}
		for i, e := range want {
			if !slices.Equal(rows[i], RecordOf(e).CSVRow()) {
				t.Fatalf("CSV row %d = %v, want %v", i, rows[i], RecordOf(e).CSVRow())
			}
		}

		var ndOut bytes.Buffer
		if n, err := s.Export(ctx, f, 0, FormatNDJSON, &ndOut); err != nil || n != int64(len(want)) {
			t.Fatalf("NDJSON export: %d, %v", n, err)
		}
		sc := bufio.NewScanner(&ndOut)
		i := 0
		for sc.Scan() {
			var got Record
			if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			wantRec := RecordOf(want[i])
			if got.Detail != nil {
				wantRec.Detail = compact(t, wantRec.Detail)
				got.Detail = compact(t, got.Detail)
			}
			if !reflect.DeepEqual(got, wantRec) {
				t.Fatalf("NDJSON line %d = %+v, want %+v", i, got, wantRec)
			}
			i++
		}
		if i != len(want) {
			t.Fatalf("NDJSON has %d lines, want %d", i, len(want))
		}
	}
}

func compact(t *testing.T, raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExportStopsAtThroughAndNeutralisesFormulas(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx := context.Background()
	e := sampleEvent(1)
	e.Reason = "=HYPERLINK(\"https://evil.example\",\"click\")"
	e.Target.Label = "+48600100200"
	e.Actor.Email = "@attacker"
	e.UserAgent = "-2+3"
	e.Detail = DetailJSON(map[string]string{"note": "=1+1"})
	if _, err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 2) // after the bound
	var out bytes.Buffer
	n, err := s.Export(ctx, Filter{}, 1, FormatCSV, &out)
	if err != nil || n != 1 {
		t.Fatalf("export = %d, %v", n, err)
	}
	rows := readCSV(t, out.Bytes())
	for _, cell := range rows[0] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %q can be read as a formula", cell)
		}
	}
	if rows[0][10] != "'"+e.Reason || rows[0][9] != "'+48600100200" || rows[0][3] != "'@attacker" {
		t.Fatalf("row = %q", rows[0])
	}
	// NDJSON is data, not a spreadsheet: values stay exactly as stored.
	out.Reset()
	if _, err := s.Export(ctx, Filter{}, 1, FormatNDJSON, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"reason":"=HYPERLINK(\"https://evil.example\",\"click\")"`) {
		t.Fatalf("NDJSON = %s", out.String())
	}
}

// flushCounter counts how often the export pushes rows to the client.
type flushCounter struct {
	io.Writer
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++ }

func TestExportFlushesAsItGoes(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx := context.Background()
	if _, err := s.Seed(ctx, SeedOptions{Events: 3500, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []Format{FormatCSV, FormatNDJSON} {
		var buf bytes.Buffer
		w := &flushCounter{Writer: &buf}
		n, err := s.Export(ctx, Filter{}, 0, format, w)
		if err != nil || n != 3500 {
			t.Fatalf("%s: %d, %v", format, n, err)
		}
		if w.flushes < 3 {
			t.Fatalf("%s: flushed %d times, want one per %d rows", format, w.flushes, flushEvery)
		}
		lines := strings.Count(buf.String(), "\n")
		if format == FormatNDJSON && lines != 3500 {
			t.Fatalf("NDJSON has %d lines", lines)
		}
	}
	if _, err := s.Export(ctx, Filter{}, 0, "xml", io.Discard); err == nil {
		t.Fatal("unknown format accepted")
	}
	if _, err := s.Export(ctx, Filter{Action: "nope.nope"}, 0, FormatCSV, io.Discard); err == nil {
		t.Fatal("invalid filter accepted")
	}
}

func BenchmarkExport(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for _, format := range []Format{FormatCSV, FormatNDJSON} {
		b.Run(string(format), func(b *testing.B) {
			var rows, bytes int64
			for b.Loop() {
				w := &countingWriter{}
				n, err := s.Export(ctx, Filter{}, 0, format, w)
				if err != nil {
					b.Fatal(err)
				}
				rows += n
				bytes += w.n
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
			if mb := peakRSSMB(); mb > 0 {
				b.ReportMetric(mb, "peakRSS-MB")
			}
		})
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// peakRSSMB is the process's peak resident memory (VmHWM) in MB, zero where unknown.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
