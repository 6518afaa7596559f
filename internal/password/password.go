// Package password hashes and checks operator passwords with argon2id and refuses
// passwords that are too short, too long or too common.
package password

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Parameters of argon2id, above OWASP's minimum (19 MiB, t=2, p=1).
const (
	memoryKiB = 19 * 1024
	time      = 2
	threads   = 1
	keyLen    = 32
	saltLen   = 16

	// MinLength and MaxLength bound a password, in characters.
	MinLength = 12
	MaxLength = 256
)

//go:embed common.txt
var commonList []byte

// Policy checks new passwords.
type Policy struct {
	common map[string]struct{}
}

// NewPolicy loads the embedded list of common passwords.
func NewPolicy() *Policy {
	p := &Policy{common: make(map[string]struct{})}
	s := bufio.NewScanner(bytes.NewReader(commonList))
	for s.Scan() {
		if w := strings.TrimSpace(s.Text()); w != "" && !strings.HasPrefix(w, "#") {
			p.common[strings.ToLower(w)] = struct{}{}
		}
	}
	return p
}

// Check explains why a password may not be used, or returns nil.
func (p *Policy) Check(pw, email string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errors.New("password is not valid UTF-8")
	case strings.ContainsRune(pw, 0):
		return errors.New("password contains a NUL character")
	case n < MinLength:
		return fmt.Errorf("password must have at least %d characters", MinLength)
	case n > MaxLength:
		return fmt.Errorf("password must have at most %d characters", MaxLength)
	}
	lower := strings.ToLower(pw)
	if _, ok := p.common[lower]; ok {
		return errors.New("password is too common: choose one that is not on lists of leaked passwords")
	}
	if local, _, _ := strings.Cut(strings.ToLower(email), "@"); local != "" && strings.Contains(lower, local) && len(local) >= 4 {
		return errors.New("password must not contain the e-mail address")
	}
	if distinct(pw) < 5 {
		return errors.New("password repeats too few different characters")
	}
	return nil
}

func distinct(s string) int {
	seen := map[rune]struct{}{}
	for _, r := range s {
		seen[r] = struct{}{}
	}
	return len(seen)
}

// Hash returns the argon2id hash of pw in the PHC string format.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, time, memoryKiB, threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, time, threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether pw matches the hash. A malformed hash never matches.
func Verify(pw, hash string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Generate returns a random password that passes the policy, for first admins and
// one-time passwords.
func Generate() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("password: generate: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
