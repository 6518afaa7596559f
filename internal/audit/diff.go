package audit

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// Change kinds in a Diff.
const (
	ChangeAdded     = "added"
	ChangeRemoved   = "removed"
	ChangeChanged   = "changed"
	ChangeUnchanged = "unchanged"
)

// FieldChange is one field of a before → after comparison. Path is dotted for nested
// objects ("address.city") and indexed for arrays ("tags[0]"); values are compact JSON,
// strings without their quotes.
type FieldChange struct {
	Path   string
	Kind   string // ChangeAdded, ChangeRemoved, ChangeChanged or ChangeUnchanged
	Before string
	After  string
}

// Diff compares two JSON documents field by field, in path order. Either may be absent
// (nil): every field of the other is then added or removed. A document that is not an
// object is compared as one field with an empty path.
func Diff(before, after json.RawMessage) []FieldChange {
	b, a := map[string]string{}, map[string]string{}
	flatten("", before, b)
	flatten("", after, a)
	var paths []string
	for p := range b {
		paths = append(paths, p)
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	out := make([]FieldChange, 0, len(paths))
	for _, p := range paths {
		bv, inB := b[p]
		av, inA := a[p]
		c := FieldChange{Path: p, Before: bv, After: av}
		switch {
		case !inB:
			c.Kind = ChangeAdded
		case !inA:
			c.Kind = ChangeRemoved
		case bv != av:
			c.Kind = ChangeChanged
		default:
			c.Kind = ChangeUnchanged
		}
		out = append(out, c)
	}
	return out
}

// flatten puts every leaf of raw into out under its path. Empty objects and arrays are
// leaves, so that they still show.
func flatten(path string, raw json.RawMessage, out map[string]string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	switch raw[0] {
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil && len(obj) > 0 {
			for k, v := range obj {
				p := k
				if path != "" {
					p = path + "." + k
				}
				flatten(p, v, out)
			}
			return
		}
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil && len(arr) > 0 {
			for i, v := range arr {
				flatten(path+"["+strconv.Itoa(i)+"]", v, out)
			}
			return
		}
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out[path] = s
			return
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		out[path] = buf.String()
		return
	}
	out[path] = string(raw)
}
