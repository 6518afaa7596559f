package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
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
	b, err := marshal(v)
	if err != nil {
		b, _ = marshal(map[string]string{"detailError": err.Error()})
	}
	return b
}

// marshal is json.Marshal without HTML escaping: the stored text keeps <, > and & as they
// are, so an auditor reads "<b>" rather than "\u003cb\u003e". Pages escape on output.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// secretKey reports whether a JSON object key names something that must never be stored:
// passwords, tokens, PINs, API keys, secrets, authorization headers, sessions and cookies.
//
// The key is split into lower-cased words ("X-Api-Key", "apiKey", "api_key" → api key) and
// is secret when it ends with a secret's name ("newPassword", "access_token", "clientSecret",
// "pin_code"), possibly followed by a qualifier ("passwordHash", "tokenValue"). A key that
// only starts with such a word names something else: RaaS settings such as
// tokenLifetimeInSeconds, passwordResetMailSubject or pinConfirmationLength are not secrets
// and their values stay readable in Before and After.
func secretKey(key string) bool {
	words := keyWords(key)
	for len(words) > 1 && secretQualifiers[words[len(words)-1]] {
		words = words[:len(words)-1]
	}
	if len(words) == 0 {
		return false
	}
	for n := 1; n <= len(words); n++ {
		if secretNames[strings.Join(words[len(words)-n:], "")] {
			return true
		}
	}
	// One lower-case word run together: "newpassword", "accesstoken".
	last := words[len(words)-1]
	for _, name := range secretSuffixes {
		if strings.HasSuffix(last, name) {
			return true
		}
	}
	return false
}

// secretNames are the names of secrets, as the lower-cased words of a key run together.
var secretNames = map[string]bool{
	"password": true, "passwd": true, "pw": true, "passphrase": true, "passcode": true, "pass": true, "pwd": true,
	"passwordconfirmation": true, "onetimepassword": true,
	"token": true, "tokens": true, "jwt": true, "bearer": true, "csrf": true, "xsrf": true,
	"secret": true, "secrets": true, "privatekey": true, "signingkey": true, "secretkey": true, "secretaccesskey": true,
	"apikey": true, "apikeys": true, "authorization": true, "proxyauthorization": true,
	"cookie": true, "cookies": true, "setcookie": true,
	"credential": true, "credentials": true,
	"session": true, "sessionid": true, "sessionkey": true, "sid": true,
	"pin": true, "pins": true, "pincode": true, "newpin": true, "oldpin": true, "otp": true, "totp": true,
}

// secretSuffixes end a one-word key that is a secret's name run into another word. Short
// names (pin, pass, otp) are left out: "mapping" and "bypass" are not secrets.
var secretSuffixes = []string{
	"password", "passwd", "passphrase", "passcode", "token", "tokens", "secret", "secrets",
	"apikey", "authorization", "cookie", "cookies", "credential", "credentials", "sessionid", "pincode", "privatekey",
}

// secretQualifiers may follow a secret's name and still name the secret or its proxy.
var secretQualifiers = map[string]bool{
	"value": true, "hash": true, "hashed": true, "confirmation": true, "confirm": true, "repeat": true,
	"again": true, "new": true, "old": true, "plain": true, "plaintext": true, "raw": true, "header": true,
}

// keyWords splits a JSON key into lower-cased words at non-alphanumerics and at case
// changes: "X-Api-Key" and "XAPIKey" → [x api key], "tokenLifetimeInSeconds" →
// [token lifetime in seconds].
func keyWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
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
	return marshal(v)
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
