package session

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// refKey holds the loaded session's ref (int64); like operatorRowKey it is never saved
// into the data.
const refKey = "_ref"

// Longest client IP and User-Agent kept for the sessions page; longer ones are cut.
const (
	maxClientIP  = 64
	maxUserAgent = 512
)

// columns are the session values that live in their own columns, not in the jsonb data.
type columns struct {
	operatorID *int64
	created    time.Time
	clientIP   string
	userAgent  string
	method     string
}

// splitValues sorts a session's values into the jsonb data and the columns. MethodKey is
// in both: handlers read it back from Values, the sessions page from its column.
func splitValues(values map[any]any) (map[string]any, columns, error) {
	data := map[string]any{}
	var cols columns
	for k, v := range values {
		key, ok := k.(string)
		if !ok {
			return nil, cols, fmt.Errorf("session: key %v is not a string", k)
		}
		switch key {
		case operatorRowKey, refKey:
		case ClientIPKey:
			s, _ := v.(string)
			cols.clientIP = printable(s, maxClientIP)
		case UserAgentKey:
			s, _ := v.(string)
			cols.userAgent = printable(s, maxUserAgent)
		case createdKey:
			if us, ok := v.(int64); ok {
				cols.created = time.UnixMicro(us)
			}
		case OperatorKey:
			id, ok := v.(int64)
			if !ok {
				return nil, cols, fmt.Errorf("session: %s must be int64, got %T", OperatorKey, v)
			}
			cols.operatorID = &id
		default:
			if key == MethodKey {
				s, _ := v.(string)
				cols.method = printable(s, 20)
			}
			data[key] = v
		}
	}
	return data, cols, nil
}

// printable is s as valid UTF-8 without control characters (a header may carry bytes no
// page or text column should), cut to at most max bytes on a character boundary.
func printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
