package auditsink

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
)

// exportLines is the NDJSON export of a seeded log, oldest first, one line each.
func exportLines(t *testing.T, n int) [][]byte {
	t.Helper()
	pool := dbtest.New(t)
	seed(t, pool, n)
	var out [][]byte
	for seq := int64(1); seq <= int64(n); seq++ {
		e, err := audit.NewStore(pool).Get(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		line, err := Line(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, line)
	}
	return out
}

func TestVerifyNDJSON(t *testing.T) {
	lines := exportLines(t, 20)
	join := func(ls ...[]byte) []byte { return append(bytes.Join(ls, []byte("\n")), '\n') }
	edit := func(i int, from, to string) [][]byte {
		out := append([][]byte(nil), lines...)
		out[i] = bytes.Replace(out[i], []byte(from), []byte(to), 1)
		return out
	}
	without := func(i int) [][]byte { return append(append([][]byte(nil), lines[:i]...), lines[i+1:]...) }
	swapped := append([][]byte(nil), lines...)
	swapped[6], swapped[7] = swapped[7], swapped[6]
	changed := edit(9, `"reason":"`, `"reason":"x`)
	other := exportLines(t, 10) // another log: its seq 10 is consistent in itself but not this one's
	for _, tc := range []struct {
		name     string
		file     []byte
		breakSeq int64
	}{
		{"intact", join(lines...), 0},
		{"duplicates and a resend from earlier", join(append(append(lines[:12:12], lines[5:12]...), lines[12:]...)...), 0},
		{"changed field", join(changed...), 10},
		{"changed description", join(edit(3, `"actionDescription":"`, `"actionDescription":"Not `)...), 4},
		{"removed line", join(without(4)...), 5},
		{"removed first line", join(without(0)...), 1},
		{"swapped lines", join(swapped...), 7},
		{"duplicate with other content", join(append(lines[:15:15], changed[9])...), 10},
		{"duplicate from another log", join(append(lines[:15:15], other[9])...), 10},
		{"not JSON", join(append(lines[:3:3], []byte("garbage"))...), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := VerifyNDJSON(bytes.NewReader(tc.file), false)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.breakSeq == 0 && !rep.Intact():
				t.Fatalf("intact file refused: %s", rep)
			case tc.breakSeq != 0 && (rep.Intact() || rep.Break.Seq != tc.breakSeq):
				t.Fatalf("got %s, want a break at seq %d", rep, tc.breakSeq)
			}
		})
	}
	if rep, _ := VerifyNDJSON(bytes.NewReader(join(lines[5:]...)), true); !rep.Intact() || rep.First != 6 {
		t.Fatalf("partial file: %s", rep)
	}
	if rep, _ := VerifyNDJSON(strings.NewReader(""), false); !rep.Intact() || rep.Events != 0 {
		t.Fatalf("empty file: %s", rep)
	}
}
