package synerise

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
)

// SettingsService reads and writes the RaaS general settings.
//
// Synerise resets every key a write does not send to its default, so the only safe write is
// read-modify-write of the whole object: Get, change keys with the setters, Set. Settings
// keeps keys the console does not know, byte for byte, so they survive.
type SettingsService struct{ c *Client }

// Get reads the settings: GET /sauth/settings/general (or the WithSettingsPath path).
func (s *SettingsService) Get(ctx context.Context) (*Settings, error) {
	var out Settings
	if err := s.c.call(ctx, "settings.get", http.MethodGet, s.c.settingsPath, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Set writes the whole settings object: POST /sauth/settings/general (or the WithSettingsPath
// path). It returns the settings Synerise answers with, or a copy of what was sent when
// Synerise answers with an empty body. Never retried.
func (s *SettingsService) Set(ctx context.Context, in *Settings) (*Settings, error) {
	if in == nil || len(in.keys) == 0 {
		return nil, fmt.Errorf("synerise: settings.set: %w: refusing to send empty settings (every key would be reset)", ErrInvalidInput)
	}
	var out Settings
	opt := &optionalBody{v: &out}
	if err := s.c.call(ctx, "settings.set", http.MethodPost, s.c.settingsPath, nil, in, opt); err != nil {
		return nil, err
	}
	if !opt.got {
		return in.Clone(), nil
	}
	return &out, nil
}

// Known settings keys.
const (
	KeyRegistrationType                    = "registrationType"
	KeyTokenLifetimeInSeconds              = "tokenLifetimeInSeconds"
	KeyConfirmationRedirectLink            = "confirmationRedirectLink"
	KeyVoucherPoolUUID                     = "voucherPoolUuid"
	KeyAllowOverwriteCustomIdentify        = "allowOverwriteCustomIdentify"
	KeyAllowEmailChangeFromWebForm         = "allowEmailChangeFromWebForm"
	KeyPinConfirmationType                 = "pinConfirmationType"
	KeyPinConfirmationLength               = "pinConfirmationLength"
	KeyPinConfirmationValidInSeconds       = "pinConfirmationValidInSeconds"
	KeyAllowPinResendFromDifferentDeviceID = "allowPinResendFromDifferentDeviceId"
)

// KnownKeys are the settings keys the console models, in the order of the documentation.
var KnownKeys = []string{
	KeyRegistrationType, KeyTokenLifetimeInSeconds, KeyConfirmationRedirectLink, KeyVoucherPoolUUID,
	KeyAllowOverwriteCustomIdentify, KeyAllowEmailChangeFromWebForm, KeyPinConfirmationType,
	KeyPinConfirmationLength, KeyPinConfirmationValidInSeconds, KeyAllowPinResendFromDifferentDeviceID,
}

// Settings is the RaaS general settings object as an ordered map of raw JSON values: keys in
// the order read, each value's bytes exactly as received. The zero value is empty.
type Settings struct {
	keys []string
	vals map[string]json.RawMessage
}

// UnmarshalJSON reads a JSON object, keeping key order and raw value bytes. A repeated key
// keeps its first position and its last value.
func (s *Settings) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("settings: not a JSON object")
	}
	s.keys, s.vals = nil, map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		key := tok.(string) // inside an object the decoder only yields string keys here
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("settings: key %q: %w", key, err)
		}
		s.SetRaw(key, raw)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("settings: trailing data after the object")
	}
	return nil
}

// MarshalJSON writes the keys in their original order with their values byte for byte.
func (s Settings) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range s.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(encodeKey(k))
		b.WriteByte(':')
		b.Write(s.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encodeKey(k string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(k) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// Keys returns the keys in order.
func (s *Settings) Keys() []string { return append([]string(nil), s.keys...) }

// Raw returns a key's raw JSON value.
func (s *Settings) Raw(key string) (json.RawMessage, bool) {
	v, ok := s.vals[key]
	return append(json.RawMessage(nil), v...), ok
}

// SetRaw replaces a key's value (appending the key when new). raw must be valid JSON; it is
// stored as given.
func (s *Settings) SetRaw(key string, raw json.RawMessage) error {
	if !json.Valid(raw) {
		return fmt.Errorf("settings: key %q: invalid JSON value", key)
	}
	if s.vals == nil {
		s.vals = map[string]json.RawMessage{}
	}
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = append(json.RawMessage(nil), raw...)
	return nil
}

// Clone returns a deep copy.
func (s *Settings) Clone() *Settings {
	c := &Settings{keys: append([]string(nil), s.keys...), vals: make(map[string]json.RawMessage, len(s.vals))}
	for k, v := range s.vals {
		c.vals[k] = append(json.RawMessage(nil), v...)
	}
	return c
}

// Fingerprint is the SHA-256 (hex) of a canonical form: keys sorted at every level, values
// compacted, strings re-encoded. Two reads with the same content have the same fingerprint,
// whatever the key order or whitespace; use it to detect a concurrent change.
func (s *Settings) Fingerprint() string {
	keys := s.Keys()
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(encodeKey(k))
		b.WriteByte(':')
		b.Write(canonicalJSON(s.vals[k]))
	}
	b.WriteByte('}')
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

func canonicalJSON(raw json.RawMessage) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return raw
	}
	out, err := json.Marshal(v) // maps marshal with sorted keys; json.Number keeps its text
	if err != nil {
		return raw
	}
	return out
}
