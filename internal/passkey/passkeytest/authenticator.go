// Package passkeytest is a software WebAuthn authenticator and client for tests: it
// answers the options the console sends for navigator.credentials.create and .get with
// the JSON a browser would post back, signing with ECDSA P-256 keys it keeps in memory.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"sync"
)

// Authenticator holds discoverable credentials and plays both the authenticator and the
// browser. Origin is what the client data claims the page was; change it to play a
// phishing site.
type Authenticator struct {
	Origin string
	// NoUserVerification makes the authenticator answer without verifying its user.
	NoUserVerification bool

	mu    sync.Mutex
	creds []*Credential
}

// Credential is one key pair the authenticator holds.
type Credential struct {
	ID     []byte
	Handle []byte
	RPID   string
	Count  uint32
	key    *ecdsa.PrivateKey
}

// New returns an authenticator whose client claims origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

// Credentials are the credentials made so far, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

var b64 = base64.RawURLEncoding

// creationOptions is the part of the console's creation options the authenticator reads.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Exclude []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

// Create answers creation options (JSON, as the console's options endpoint sends them)
// with a new credential, as PublicKeyCredential JSON.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, err
	}
	for _, ex := range o.PublicKey.Exclude {
		if a.holds(ex.ID) {
			return nil, errors.New("passkeytest: InvalidStateError: credential excluded")
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &Credential{ID: make([]byte, 32), Handle: handle, RPID: o.PublicKey.RP.ID, key: key}
	_, _ = rand.Read(c.ID)
	clientData := a.clientData("webauthn.create", o.PublicKey.Challenge)
	auth := a.authData(c.RPID, 0, 0x40)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(c.ID)))
	auth = append(auth, c.ID...)
	auth = append(auth, coseKey(&key.PublicKey)...)
	att := cborMap(
		cborText("fmt"), cborText("none"),
		cborText("attStmt"), cborMap(),
		cborText("authData"), cborBytes(auth),
	)
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(clientData), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// requestOptions is the part of the console's request options the authenticator reads.
type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Get answers request options with an assertion by the newest credential that fits (one
// of allowCredentials, or any for the relying party when none are named).
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	c := a.pick(o.PublicKey.RPID, o.PublicKey.Allow)
	if c == nil {
		return nil, errors.New("passkeytest: NotAllowedError: no credential for this site")
	}
	a.mu.Lock()
	c.Count++
	count := c.Count
	a.mu.Unlock()
	return a.Assert(c, o.PublicKey.Challenge, count)
}

// Assert signs an assertion by c for challenge with the given signature counter.
func (a *Authenticator) Assert(c *Credential, challenge string, count uint32) ([]byte, error) {
	clientData := a.clientData("webauthn.get", challenge)
	auth := a.authData(c.RPID, count, 0)
	digest := sha256.Sum256(clientData)
	signed := sha256.Sum256(append(append([]byte(nil), auth...), digest[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, signed[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(clientData), "authenticatorData": b64.EncodeToString(auth),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(c.Handle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

func (a *Authenticator) holds(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if b64.EncodeToString(c.ID) == id {
			return true
		}
	}
	return false
}

func (a *Authenticator) pick(rpID string, allow []struct {
	ID string `json:"id"`
}) *Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.creds) - 1; i >= 0; i-- {
		c := a.creds[i]
		if c.RPID != rpID {
			continue
		}
		if len(allow) == 0 {
			return c
		}
		for _, al := range allow {
			if al.ID == b64.EncodeToString(c.ID) {
				return c
			}
		}
	}
	return nil
}

// clientData is the client data JSON a browser at a.Origin would produce.
func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData starts authenticator data: the relying party id's hash, flags (user present,
// user verified unless turned off, plus extra) and the counter.
func (a *Authenticator) authData(rpID string, count uint32, extra byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) | extra
	if !a.NoUserVerification {
		flags |= 0x04
	}
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, count)
}

// RPIDOf is the relying party id a console at origin uses: its host.
func RPIDOf(origin string) string {
	u, err := url.Parse(origin)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// coseKey is an EC2 P-256 ES256 public key in COSE (RFC 9053).
func coseKey(pub *ecdsa.PublicKey) []byte {
	raw, _ := pub.Bytes() // 0x04 | X | Y
	return cborMap(
		cborInt(1), cborInt(2), // kty: EC2
		cborInt(3), cborInt(-7), // alg: ES256
		cborInt(-1), cborInt(1), // crv: P-256
		cborInt(-2), cborBytes(raw[1:33]),
		cborInt(-3), cborBytes(raw[33:65]),
	)
}

// A minimal CBOR encoder: what attestation objects and COSE keys need.
func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	}
	return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
}

func cborInt(n int64) []byte {
	if n < 0 {
		return cborHead(1, uint64(-1-n))
	}
	return cborHead(0, uint64(n))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes alternating keys and values, each already encoded.
func cborMap(kv ...[]byte) []byte {
	return append(cborHead(5, uint64(len(kv)/2)), bytes.Join(kv, nil)...)
}
