package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/crypto/hkdf"
)

// ErrSealed is returned when a stored secret cannot be opened: it was sealed under
// another key (the session secret changed) or for another operator.
var ErrSealed = errors.New("mfa: stored secret cannot be opened")

// deriveKey derives a 32-byte key for one purpose from the session secret, so that the
// session cookies, the TOTP secrets and the recovery codes never share a key.
func deriveKey(secret []byte, info string) ([]byte, error) {
	if len(secret) < 16 {
		return nil, errors.New("mfa: the session secret is too short to derive keys from")
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("mfa: derive key: %w", err)
	}
	return key, nil
}

// sealer seals TOTP secrets with AES-256-GCM; the operator id is the additional data,
// so a sealed secret copied to another operator's row does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	key, err := deriveKey(secret, "console totp secret")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mfa: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("mfa: cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func additionalData(operatorID int64) []byte {
	return []byte("operator " + strconv.FormatInt(operatorID, 10))
}

// seal is nonce ‖ ciphertext of sec as JSON.
func (s *sealer) seal(operatorID int64, sec secrets) ([]byte, error) {
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, fmt.Errorf("mfa: seal: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("mfa: seal: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, additionalData(operatorID)), nil
}

func (s *sealer) open(operatorID int64, sealed []byte) (secrets, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return secrets{}, ErrSealed
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], additionalData(operatorID))
	if err != nil {
		return secrets{}, ErrSealed
	}
	var sec secrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return secrets{}, ErrSealed
	}
	return sec, nil
}

// codeHasher hashes recovery codes with HMAC-SHA256. A slow password hash is not needed:
// each code is 50 random bits, so a guess cannot start from a dictionary, and the key
// (derived from the session secret, not in the database) means a stolen table alone
// cannot even be searched; online guesses are bounded by the sign-in lockout.
type codeHasher struct{ key []byte }

func newCodeHasher(secret []byte) (*codeHasher, error) {
	key, err := deriveKey(secret, "console recovery codes")
	if err != nil {
		return nil, err
	}
	return &codeHasher{key: key}, nil
}

func (h *codeHasher) hash(operatorID int64, code string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write(additionalData(operatorID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}
