package settings

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/raas-console/console/internal/synerise"
)

// Change is one key whose value differs: Old → New. A nil Old or New means the key is
// missing on that side. Values are raw JSON.
type Change struct {
	Key string          `json:"key"`
	Old json.RawMessage `json:"old,omitempty"`
	New json.RawMessage `json:"new,omitempty"`
}

// Field returns the modelled setting of the change's key, if the console models it.
func (c Change) Field() (Field, bool) { return Lookup(c.Key) }

// Label is the key's label, or the key itself when the console does not model it.
func (c Change) Label() string {
	if f, ok := c.Field(); ok {
		return f.Label
	}
	return c.Key
}

// OldWords and NewWords describe the two values for a person.
func (c Change) OldWords() string { return words(c.Key, c.Old) }

// NewWords describes the new value for a person.
func (c Change) NewWords() string { return words(c.Key, c.New) }

// String is the change in words: "PIN validity: 300 seconds (5 minutes) → 600 seconds (10 minutes)".
func (c Change) String() string {
	return fmt.Sprintf("%s: %s → %s", c.Label(), c.OldWords(), c.NewWords())
}

func words(key string, raw json.RawMessage) string {
	if f, ok := Lookup(key); ok {
		return f.Words(raw)
	}
	if raw == nil {
		return "not set"
	}
	return compact(raw)
}

// Keys returns the keys of changes, in order.
func Keys(changes []Change) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.Key
	}
	return out
}

// Equal reports whether two raw JSON values mean the same: whitespace and object key order
// do not matter, the text of numbers does. nil (missing) equals only nil.
func Equal(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if bytes.Equal(a, b) {
		return true
	}
	return bytes.Equal(canonical(a), canonical(b))
}

// canonical re-encodes raw with object keys sorted and numbers as written.
func canonical(raw json.RawMessage) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// Diff lists every key, modelled or not, whose value differs between before and after:
// before's keys in their order, then keys only after has.
func Diff(before, after *synerise.Settings) []Change {
	var out []Change
	seen := map[string]bool{}
	for _, k := range before.Keys() {
		seen[k] = true
		old, _ := before.Raw(k)
		cur, ok := after.Raw(k)
		if !ok {
			cur = nil
		}
		if !Equal(old, cur) {
			out = append(out, Change{Key: k, Old: old, New: cur})
		}
	}
	for _, k := range after.Keys() {
		if !seen[k] {
			cur, _ := after.Raw(k)
			out = append(out, Change{Key: k, New: cur})
		}
	}
	return out
}

// Apply returns a copy of fresh with the New value of each change set, and nothing else
// touched: every other key keeps its position and its bytes. A change with a nil New is
// refused, as is a change to a key the console does not model.
func Apply(fresh *synerise.Settings, changes []Change) (*synerise.Settings, error) {
	out := fresh.Clone()
	for _, c := range changes {
		if !Modelled(c.Key) {
			return nil, fmt.Errorf("settings: apply: %q is not a setting the console edits", c.Key)
		}
		if c.New == nil {
			return nil, fmt.Errorf("settings: apply: %q has no new value", c.Key)
		}
		if err := out.SetRaw(c.Key, c.New); err != nil {
			return nil, fmt.Errorf("settings: apply: %w", err)
		}
	}
	return out, nil
}

// Rebase returns the changes as they would be made on fresh: each Old replaced by fresh's
// value, and the changes whose New fresh already holds left out.
func Rebase(fresh *synerise.Settings, changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		cur, ok := fresh.Raw(c.Key)
		if !ok {
			cur = nil
		}
		if Equal(cur, c.New) {
			continue
		}
		out = append(out, Change{Key: c.Key, Old: cur, New: c.New})
	}
	return out
}

// Values returns the raw value of every modelled key of s; a key s lacks maps to nil.
func Values(s *synerise.Settings) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(Fields))
	for _, f := range Fields {
		raw, ok := s.Raw(f.Key)
		if !ok {
			raw = nil
		}
		out[f.Key] = raw
	}
	return out
}

// Others returns the keys of s the console does not model, in order.
func Others(s *synerise.Settings) []string {
	var out []string
	for _, k := range s.Keys() {
		if !Modelled(k) {
			out = append(out, k)
		}
	}
	return out
}
