package synerise

import (
	"fmt"
	"net/url"
	"strings"
)

// pathSegment checks and escapes value for one URL path segment. kind names the value in
// the error ("email", "customId"). Empty and blank values are refused, and so are "." and
// "..", which proxies and HTTP libraries normalise away, sending the request elsewhere.
func pathSegment(kind, value string) (string, error) {
	if strings.TrimSpace(value) == "" || value == "." || value == ".." {
		return "", fmt.Errorf("%s %q: %w", kind, value, ErrInvalidPathValue)
	}
	return escapeSegment(value), nil
}

// escapeSegment escapes one path segment; '+' too, which url.PathEscape leaves alone but
// some servers read as a space.
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}
