package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is the provider's current RSA key. Rotation replaces it: the JWKS then
// serves only the new key, so tokens signed before a rotation no longer verify.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func newSigningKey() (signingKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return signingKey{}, fmt.Errorf("generate key: %w", err)
	}
	return signingKey{id: randomID(8), key: k}, nil
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// publicKey is the JWKS entry of a signingKey.
type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

// randomID is n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return hex.EncodeToString(b)
}
