package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/dbtest"
)

func testSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := GenerateKeyFile(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSigningKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", LocalKeyFile)
	made, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
	loaded, err := LoadSigner(path)
	if err != nil || !bytes.Equal(loaded.PublicKey(), made.PublicKey()) {
		t.Fatalf("LoadSigner = %v, %v", loaded, err)
	}
	if _, err := GenerateKeyFile(path); err == nil {
		t.Fatal("GenerateKeyFile overwrote an existing key")
	}
	again, err := LoadOrGenerateSigner(path)
	if err != nil || !bytes.Equal(again.PublicKey(), made.PublicKey()) {
		t.Fatal("LoadOrGenerateSigner did not load the existing key")
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadSigner(bad); err == nil || !strings.Contains(err.Error(), "PKCS #8") {
		t.Fatalf("LoadSigner(garbage) = %v", err)
	}
	if _, err := LoadSigner(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("LoadSigner(missing) succeeded")
	}
}

func TestCheckpointRoundTripsThroughAFile(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx := context.Background()
	signer := testSigner(t)
	appendN(t, s, 5)
	cp, err := s.Checkpoint(ctx, signer)
	if err != nil {
		t.Fatal(err)
	}
	_, hash, _ := s.Head(ctx)
	if cp.Seq != 5 || !bytes.Equal(cp.Hash, hash) || !cp.SignatureValid() || cp.ID == 0 {
		t.Fatalf("checkpoint = %+v", cp)
	}
	path := filepath.Join(t.TempDir(), "cp.json")
	if err := WriteCheckpointFile(path, cp); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	var keys map[string]any
	if err := json.Unmarshal(raw, &keys); err != nil || len(keys) != 5 || keys["seq"] != float64(5) {
		t.Fatalf("file = %s", raw)
	}
	for _, k := range []string{"hash", "time", "publicKey", "signature"} {
		if _, ok := keys[k].(string); !ok {
			t.Fatalf("file lacks %q: %s", k, raw)
		}
	}
	read, err := ReadCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if read.Seq != cp.Seq || !bytes.Equal(read.Hash, cp.Hash) || !read.Time.Equal(cp.Time) || !read.SignatureValid() {
		t.Fatalf("read back %+v, wrote %+v", read, cp)
	}
	appendN(t, s, 3) // the log grows: the checkpoint still holds
	if err := s.VerifyCheckpoint(ctx, read, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyCheckpoint(ctx, read, testSigner(t).PublicKey()); !errors.Is(err, ErrCheckpointMismatch) {
		t.Fatalf("checkpoint of another key = %v", err)
	}
	forged := read
	forged.Seq = 7
	if err := s.VerifyCheckpoint(ctx, forged, nil); !errors.Is(err, ErrCheckpointMismatch) || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("edited checkpoint = %v", err)
	}
	latest, err := s.Checkpoints(ctx, 0)
	if err != nil || len(latest) != 1 || latest[0].ID != cp.ID || !latest[0].SignatureValid() {
		t.Fatalf("Checkpoints = %+v, %v", latest, err)
	}
	if got, err := s.GetCheckpoint(ctx, cp.ID); err != nil || got.Seq != 5 {
		t.Fatalf("GetCheckpoint = %+v, %v", got, err)
	}
	if _, err := s.GetCheckpoint(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetCheckpoint(999) = %v", err)
	}
	if _, err := s.Checkpoint(ctx, nil); err == nil {
		t.Fatal("checkpoint without a key succeeded")
	}
}

func TestCheckpointDetectsATruncatedTail(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	appendN(t, s, 10)
	cp, err := s.Checkpoint(ctx, testSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t, pool)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DELETE FROM audit_events WHERE seq > 7"); err != nil {
		t.Fatal(err)
	}
	// The chain alone cannot tell: what is left is a whole chain.
	mustVerifyIntact(t, s, 7)
	err = s.VerifyCheckpoint(ctx, cp, nil)
	if !errors.Is(err, ErrCheckpointMismatch) || !strings.Contains(err.Error(), "seq=10") || !strings.Contains(err.Error(), "cut from the tail") {
		t.Fatalf("VerifyCheckpoint after truncation = %v", err)
	}
	// Cut and re-grown to the same length with other rows by a writer that reads the head
	// it finds (another process): the hash tells.
	appendN(t, NewStore(pool), 3)
	mustVerifyIntact(t, s, 10)
	if err := s.VerifyCheckpoint(ctx, cp, nil); !errors.Is(err, ErrCheckpointMismatch) || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("VerifyCheckpoint after a rewrite = %v", err)
	}
}

// A tail cut while a console runs shows in the chain itself: the console goes on from the
// last row it wrote, so the rows removed are a gap the next append makes visible.
func TestTruncatedTailUnderARunningWriterLeavesAGap(t *testing.T) {
	pool := dbtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	appendN(t, s, 10)
	conn := adminConn(t, pool)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DELETE FROM audit_events WHERE seq > 7"); err != nil {
		t.Fatal(err)
	}
	next, err := s.Append(ctx, sampleEvent(11))
	if err != nil {
		t.Fatal(err)
	}
	if next.Seq != 11 {
		t.Fatalf("the append after the cut got seq %d, want 11", next.Seq)
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Intact() || rep.First.Seq != 8 || !strings.Contains(rep.First.Problem, "seq 7 is followed by seq 11") {
		t.Fatalf("verify after a cut under a running writer: %s", rep)
	}
}

func TestCheckpointsAreAppendOnly(t *testing.T) {
	pool := dbtest.NewOwner(t) // the triggers refuse even the owner
	s := NewStore(pool)
	ctx := context.Background()
	if _, err := s.Checkpoint(ctx, testSigner(t)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"UPDATE audit_checkpoints SET seq = 9",
		"DELETE FROM audit_checkpoints",
		"TRUNCATE audit_checkpoints",
	} {
		if _, err := pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want append-only rejection", sql, err)
		}
	}
}

func TestCheckpointIfMoved(t *testing.T) {
	s := NewStore(dbtest.New(t))
	ctx := context.Background()
	signer := testSigner(t)
	first, made, err := s.CheckpointIfMoved(ctx, signer)
	if err != nil || !made || first.Seq != 0 {
		t.Fatalf("first = %+v %v %v", first, made, err)
	}
	if err := s.VerifyCheckpoint(ctx, first, nil); err != nil {
		t.Fatalf("empty-log checkpoint: %v", err)
	}
	if _, made, err := s.CheckpointIfMoved(ctx, signer); err != nil || made {
		t.Fatalf("unchanged head: made=%v %v", made, err)
	}
	appendN(t, s, 1)
	if cp, made, err := s.CheckpointIfMoved(ctx, signer); err != nil || !made || cp.Seq != 1 {
		t.Fatalf("moved head: %+v made=%v %v", cp, made, err)
	}
}

func TestCheckpointFileRejectsGarbage(t *testing.T) {
	for _, raw := range []string{
		`{}`,
		`{"seq":1,"hash":"zz","time":"2026-01-01T00:00:00Z","publicKey":"","signature":""}`,
		`not json`,
	} {
		var c Checkpoint
		if err := json.Unmarshal([]byte(raw), &c); err == nil {
			t.Errorf("accepted %s", raw)
		}
	}
}
