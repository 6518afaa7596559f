package profile

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"github.com/raas-console/console/internal/synerise"
)

// Info is the editable part of a profile: its basic-info fields and agreements by name,
// and its custom attributes (compact JSON) but for the ones Synerise reserves. Its
// canonical JSON (keys sorted, values compact) is what the lost-update fingerprint hashes.
type Info struct {
	Fields     map[string]string          `json:"fields"`
	Agreements map[string]bool            `json:"agreements"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// InfoOf is the editable part of p.
func InfoOf(p *synerise.Profile) Info {
	b := Info{Fields: map[string]string{}, Agreements: map[string]bool{}, Attributes: map[string]json.RawMessage{}}
	for _, f := range Fields {
		b.Fields[f.Name] = f.Get(p)
	}
	for _, a := range Agreements {
		b.Agreements[a.Name] = a.Get(p)
	}
	for k, raw := range p.Attributes {
		if !Reserved(k) {
			b.Attributes[k] = json.RawMessage(compactJSON(raw))
		}
	}
	return b
}

// Canonical is b as JSON with sorted keys and compact values.
func (b Info) Canonical() []byte {
	out, _ := json.Marshal(b) // maps marshal with sorted keys; values are compact already
	return out
}

// Fingerprint is the SHA-256 of b's canonical JSON, in hex.
func (b Info) Fingerprint() string { return fingerprintOf(b.Canonical()) }

// Encode is b as the edit form carries it: its canonical JSON in unpadded base64url.
func (b Info) Encode() string { return base64.RawURLEncoding.EncodeToString(b.Canonical()) }

func fingerprintOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// DecodeInfo reads the basic info a form was loaded with from its Encode text, if the
// text is intact: it must hash to fingerprint.
func DecodeInfo(encoded, fingerprint string) (Info, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil || fingerprintOf(raw) != fingerprint {
		return Info{}, false
	}
	var b Info
	if json.Unmarshal(raw, &b) != nil || b.Fields == nil {
		return Info{}, false
	}
	if b.Agreements == nil {
		b.Agreements = map[string]bool{}
	}
	if b.Attributes == nil {
		b.Attributes = map[string]json.RawMessage{}
	}
	return b, true
}
