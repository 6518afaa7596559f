package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// checkpointVersion opens the signed message, so a future format can be told apart.
const checkpointVersion = "audit-checkpoint-v1"

// ErrCheckpointMismatch is returned when a checkpoint does not hold against the log:
// its signature is wrong, or the log no longer has its row with its hash.
var ErrCheckpointMismatch = errors.New("audit: checkpoint does not match the log")

// LocalKeyFile is the name of the signing key the console makes in its data directory
// when it runs its own local database and CONSOLE_AUDIT_SIGNING_KEY is unset.
const LocalKeyFile = "audit-signing-key.pem"

// Signer signs checkpoints with an Ed25519 key kept outside the database.
//
// The key file is PEM "PRIVATE KEY" (PKCS #8), as written by GenerateKeyFile or by
// `openssl genpkey -algorithm ed25519 -out key.pem`.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner returns a Signer with key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key} }

// PublicKey is the key that verifies this Signer's checkpoints.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// PublicKeyBase64 is the public key as standard base64, as checkpoint files carry it.
func (s *Signer) PublicKeyBase64() string { return base64.StdEncoding.EncodeToString(s.PublicKey()) }

// LoadSigner reads a PEM PKCS #8 Ed25519 private key from path.
func LoadSigner(path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: load signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit: load signing key %s: not a PEM \"PRIVATE KEY\" (PKCS #8) file", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: load signing key %s: %w", path, err)
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: load signing key %s: a %T, not an Ed25519 key", path, key)
	}
	return NewSigner(ed), nil
}

// GenerateKeyFile writes a new Ed25519 private key to path (mode 0600) and returns its
// Signer. It refuses to overwrite an existing file.
func GenerateKeyFile(path string) (*Signer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("audit: generate signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: generate signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: generate signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("audit: write signing key: %w", err)
	}
	return NewSigner(key), nil
}

// LoadOrGenerateSigner loads the key at path, creating it first when the file does not
// exist: for the console's own local database, whose key lives in the data directory.
func LoadOrGenerateSigner(path string) (*Signer, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return GenerateKeyFile(path)
	}
	return LoadSigner(path)
}

// Checkpoint is a signed statement that the log's row Seq had hash Hash at Time. Kept
// outside the database, it proves later that rows up to Seq were not cut from the tail.
type Checkpoint struct {
	ID        int64 // the row in audit_checkpoints; zero when read from a file
	Seq       int64
	Hash      []byte
	Time      time.Time
	PublicKey ed25519.PublicKey
	Signature []byte
}

// checkpointFile is the JSON form of a Checkpoint, readable and checkable offline.
type checkpointFile struct {
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	PublicKey string `json:"publicKey"`
	Signature string `json:"signature"`
}

// Message is the exact text the signature covers, one field a line:
//
//	audit-checkpoint-v1
//	<seq in decimal>
//	<hash in lower-case hex>
//	<time, RFC 3339 UTC with microseconds>
func (c Checkpoint) Message() []byte {
	var b bytes.Buffer
	b.WriteString(checkpointVersion + "\n")
	b.WriteString(strconv.FormatInt(c.Seq, 10) + "\n")
	b.WriteString(hex.EncodeToString(c.Hash) + "\n")
	b.WriteString(c.Time.UTC().Format("2006-01-02T15:04:05.000000Z") + "\n")
	return b.Bytes()
}

// SignatureValid reports whether Signature is PublicKey's signature of Message.
func (c Checkpoint) SignatureValid() bool {
	return len(c.PublicKey) == ed25519.PublicKeySize && ed25519.Verify(c.PublicKey, c.Message(), c.Signature)
}

// MarshalJSON writes the offline file format:
// {"seq":N,"hash":"hex","time":"RFC3339","publicKey":"base64","signature":"base64"}.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkpointFile{
		Seq:       c.Seq,
		Hash:      hex.EncodeToString(c.Hash),
		Time:      c.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		PublicKey: base64.StdEncoding.EncodeToString(c.PublicKey),
		Signature: base64.StdEncoding.EncodeToString(c.Signature),
	})
}

// UnmarshalJSON reads the offline file format.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	hash, err := hex.DecodeString(f.Hash)
	if err != nil || len(hash) != HashSize {
		return errors.New("checkpoint: hash is not 64 hex digits")
	}
	t, err := time.Parse(time.RFC3339Nano, f.Time)
	if err != nil {
		return fmt.Errorf("checkpoint: time: %w", err)
	}
	pub, err := base64.StdEncoding.DecodeString(f.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return errors.New("checkpoint: publicKey is not a base64 Ed25519 public key")
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("checkpoint: signature is not a base64 Ed25519 signature")
	}
	if f.Seq < 0 {
		return errors.New("checkpoint: negative seq")
	}
	*c = Checkpoint{Seq: f.Seq, Hash: hash, Time: t.UTC(), PublicKey: pub, Signature: sig}
	return nil
}

// ReadCheckpointFile reads a checkpoint file written by WriteCheckpointFile.
func ReadCheckpointFile(path string) (Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: read checkpoint %s: %w", path, err)
	}
	return c, nil
}

// WriteCheckpointFile writes c to path in the offline file format.
func WriteCheckpointFile(path string, c Checkpoint) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	return nil
}

// Sign makes a checkpoint of (seq, hash) at t.
func (s *Signer) Sign(seq int64, hash []byte, t time.Time) Checkpoint {
	c := Checkpoint{Seq: seq, Hash: hash, Time: t.UTC().Truncate(time.Microsecond), PublicKey: s.PublicKey()}
	c.Signature = ed25519.Sign(s.key, c.Message())
	return c
}

const checkpointColumns = "id, seq, hash, created_at, public_key, signature"

// Checkpoint signs the current chain head and records it in audit_checkpoints.
func (s *Store) Checkpoint(ctx context.Context, signer *Signer) (Checkpoint, error) {
	if signer == nil {
		return Checkpoint{}, errors.New("audit: checkpoint: no signing key configured")
	}
	seq, hash, err := head(ctx, s.pool)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	c := signer.Sign(seq, hash, s.clock())
	err = s.pool.QueryRow(ctx, `INSERT INTO audit_checkpoints (seq, hash, created_at, public_key, signature)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, c.Seq, c.Hash, c.Time, []byte(c.PublicKey), c.Signature).Scan(&c.ID)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	return c, nil
}

// CheckpointIfMoved records a checkpoint unless the newest one already covers the
// current head, for the periodic job: an idle console does not pile up checkpoints.
func (s *Store) CheckpointIfMoved(ctx context.Context, signer *Signer) (Checkpoint, bool, error) {
	latest, err := s.Checkpoints(ctx, 1)
	if err != nil {
		return Checkpoint{}, false, err
	}
	seq, _, err := s.Head(ctx)
	if err != nil {
		return Checkpoint{}, false, err
	}
	if len(latest) == 1 && latest[0].Seq == seq && bytes.Equal(latest[0].PublicKey, signer.PublicKey()) {
		return latest[0], false, nil
	}
	c, err := s.Checkpoint(ctx, signer)
	return c, err == nil, err
}

// Checkpoints returns the newest recorded checkpoints, newest first; limit is capped at
// 1000, and zero or less means 20.
func (s *Store) Checkpoints(ctx context.Context, limit int) ([]Checkpoint, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.pool.Query(ctx, "SELECT "+checkpointColumns+" FROM audit_checkpoints ORDER BY id DESC LIMIT $1", min(limit, 1000))
	if err != nil {
		return nil, fmt.Errorf("audit: list checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, scanCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("audit: list checkpoints: %w", err)
	}
	return cps, nil
}

// GetCheckpoint returns the recorded checkpoint with id, or ErrNotFound.
func (s *Store) GetCheckpoint(ctx context.Context, id int64) (Checkpoint, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+checkpointColumns+" FROM audit_checkpoints WHERE id = $1", id)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: get checkpoint: %w", err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCheckpoint)
	if errors.Is(err, pgx.ErrNoRows) {
		return Checkpoint{}, ErrNotFound
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: get checkpoint: %w", err)
	}
	return c, nil
}

func scanCheckpoint(row pgx.CollectableRow) (Checkpoint, error) {
	var c Checkpoint
	var pub []byte
	if err := row.Scan(&c.ID, &c.Seq, &c.Hash, &c.Time, &pub, &c.Signature); err != nil {
		return Checkpoint{}, err
	}
	c.Time = c.Time.UTC()
	c.PublicKey = pub
	return c, nil
}

// VerifyCheckpoint checks c's signature and that the log still holds row c.Seq with
// hash c.Hash. A log cut back below c.Seq, or whose row c.Seq was replaced, fails with
// ErrCheckpointMismatch and a message that says which. When want is not nil, c must
// also be signed by that key. It does not walk the chain: run Verify for that.
func (s *Store) VerifyCheckpoint(ctx context.Context, c Checkpoint, want ed25519.PublicKey) error {
	if want != nil && !bytes.Equal(want, c.PublicKey) {
		return fmt.Errorf("%w: it is signed by another key than the configured one", ErrCheckpointMismatch)
	}
	if !c.SignatureValid() {
		return fmt.Errorf("%w: the signature does not verify (the file was altered or not signed by its key)", ErrCheckpointMismatch)
	}
	if c.Seq == 0 {
		return nil // a checkpoint of the empty log holds for every log
	}
	var hash []byte
	err := s.pool.QueryRow(ctx, "SELECT hash FROM audit_events WHERE seq = $1", c.Seq).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		last, _, herr := s.Head(ctx)
		if herr != nil {
			return herr
		}
		return fmt.Errorf("%w: row seq=%d signed at %s is missing; the log now ends at seq=%d (rows were cut from the tail)",
			ErrCheckpointMismatch, c.Seq, c.Time.Format(time.RFC3339), last)
	}
	if err != nil {
		return fmt.Errorf("audit: verify checkpoint: %w", err)
	}
	if !bytes.Equal(hash, c.Hash) {
		return fmt.Errorf("%w: row seq=%d has hash %x, the checkpoint signed %x (the log was rewritten)",
			ErrCheckpointMismatch, c.Seq, hash, c.Hash)
	}
	return nil
}
