package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Redacted replaces the value of a secret-looking key in Detail, Before and After.
const Redacted = "[redacted]"

// Longest stored value of the fields that come from request headers; longer values are cut.
const maxHeaderField = 512

// DetailJSON marshals v for Event.Detail. It never fails silently: a value that cannot be
// marshalled becomes {"detailError": "<why>"}, so the event is still written and says why
// its detail is missing.
func DetailJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"detailError": err.Error()})
	}
	return b
}

// secretKey reports whether a JSON object key names something that must never be stored:
// passwords, tokens, PINs, API keys, secrets, authorization headers, sessions and cookies.
// Matching ignores case, "_" and "-".
func secretKey(key string) bool {
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))
	switch k {
	case "pin", "pincode", "newpin", "oldpin", "pass", "pwd", "otp":
		return true
	}
	for _, word := range []string{"password", "passwd", "token", "secret", "apikey", "authorization", "session", "cookie", "credential"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	return false
}

// redact returns raw with the value of every secret-looking key, at any depth, replaced by
// Redacted. When nothing needs redacting raw is returned unchanged, byte for byte; otherwise
// the JSON is re-encoded (compact, keys sorted). raw must be valid JSON.
func redact(raw json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keeps big numbers exact when re-encoding
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if !redactValue(v) {
		return raw, nil
	}
	return json.Marshal(v)
}

// redactValue redacts v in place and reports whether it changed anything.
func redactValue(v any) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			if secretKey(k) {
				if s, ok := inner.(string); !ok || s != Redacted {
					v[k] = Redacted
					changed = true
				}
				continue
			}
			changed = redactValue(inner) || changed
		}
	case []any:
		for _, inner := range v {
			changed = redactValue(inner) || changed
		}
	}
	return changed
}

// cleanJSON checks and redacts one JSON field. Empty means absent (nil).
func cleanJSON(name string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !utf8.Valid(raw) || !json.Valid(raw) {
		return nil, fmt.Errorf("%s is not valid UTF-8 JSON", name)
	}
	out, err := redact(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// cleanText makes s storable in a PostgreSQL text column: valid UTF-8 without NUL bytes,
// at most max bytes when max > 0. Request headers are attacker-controlled, and a strange
// User-Agent must not stop an event from being recorded.
func cleanText(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// prepare validates e and normalises it into exactly what will be stored and hashed.
func prepare(e Event) (Event, error) {
	if !Known(e.Action) {
		return e, fmt.Errorf("unknown action %q", e.Action)
	}
	if !e.Outcome.Valid() {
		return e, fmt.Errorf("invalid outcome %q", e.Outcome)
	}
	if e.Actor.OperatorID < 0 || e.IntentSeq < 0 {
		return e, errors.New("negative operator id or intent seq")
	}
	var err error
	if e.Detail, err = cleanJSON("detail", e.Detail); err != nil {
		return e, err
	}
	if e.Detail == nil {
		e.Detail = json.RawMessage(`{}`)
	}
	if e.Before, err = cleanJSON("before", e.Before); err != nil {
		return e, err
	}
	if e.After, err = cleanJSON("after", e.After); err != nil {
		return e, err
	}
	e.Actor.Email = cleanText(e.Actor.Email, 0)
	e.Actor.Role = cleanText(e.Actor.Role, 0)
	e.Target.Type = cleanText(e.Target.Type, 0)
	e.Target.ID = cleanText(e.Target.ID, 0)
	e.Target.Label = cleanText(e.Target.Label, 0)
	e.Reason = cleanText(e.Reason, 0)
	e.UpstreamError = cleanText(e.UpstreamError, 0)
	e.TraceID = cleanText(e.TraceID, maxHeaderField)
	e.RequestID = cleanText(e.RequestID, maxHeaderField)
	e.ClientIP = cleanText(e.ClientIP, maxHeaderField)
	e.UserAgent = cleanText(e.UserAgent, maxHeaderField)
	return e, nil
}
