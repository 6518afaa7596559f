package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// exampleLink is the link the refusals of a confirmation redirect link show as a model.
const exampleLink = "https://shop.example.com/welcome"

// checkURL explains what is wrong with a confirmation redirect link, or returns "". Each
// refusal says what a link that can be used looks like.
func checkURL(s string) string {
	if len(s) > maxURL {
		return fmt.Sprintf("This link is %d characters long; a link may have at most %d. Enter a shorter full link, such as %s.", len(s), maxURL, exampleLink)
	}
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme || scheme == "" || strings.ContainsAny(scheme, " \t/") {
		return "Enter a full link starting with https://, such as " + exampleLink + ", or leave it empty for Synerise's own page."
	}
	if strings.ContainsAny(s, " \t") {
		return "A link cannot contain spaces: write each space as %20, such as https://shop.example.com/my%20page."
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || rest == "" {
		return "Enter a full link with a site name after https://, such as " + exampleLink + "."
	}
	if u.User != nil {
		return "Enter the link without a user name or password before the site name, such as " + exampleLink + "."
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLocalhost(u.Hostname()) {
			return ""
		}
		return "Start the link with https://, such as " + exampleLink + " (http:// is allowed only for localhost)."
	}
	return "Enter a link starting with https://, such as " + exampleLink + " (" + u.Scheme + ": links cannot be used; http:// is allowed only for localhost)."
}

func isLocalhost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plainText refuses invalid UTF-8 and control characters in an input.
func plainText(s string) string {
	if !utf8.ValidString(s) {
		return "Type the value again: what was sent holds bytes that are not valid text."
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) {
		return "Type the value on one line, without control characters such as line breaks."
	}
	return ""
}

func boolEffect(on, off string) func(json.RawMessage) string {
	return func(raw json.RawMessage) string {
		if b, ok := boolOf(raw); ok {
			if b {
				return on
			}
			return off
		}
		return ""
	}
}

// seconds is n seconds in words, with a rounder unit when one fits: "300 seconds (5 minutes)".
func seconds(n int) string {
	s := fmt.Sprintf("%d seconds", n)
	if n == 1 {
		s = "1 second"
	}
	plural := func(v int, unit string) string {
		if v == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", v, unit)
	}
	switch {
	case n >= 86400 && n%86400 == 0:
		return s + " (" + plural(n/86400, "day") + ")"
	case n >= 3600 && n%3600 == 0:
		return s + " (" + plural(n/3600, "hour") + ")"
	case n >= 60 && n%60 == 0:
		return s + " (" + plural(n/60, "minute") + ")"
	}
	return s
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func stringOf(raw json.RawMessage) (string, bool) {
	var s *string
	if json.Unmarshal(raw, &s) != nil || s == nil {
		return "", false
	}
	return *s, true
}

func intOf(raw json.RawMessage) (int, bool) {
	var f *float64
	if json.Unmarshal(raw, &f) != nil || f == nil || *f != math.Trunc(*f) || math.Abs(*f) > math.MaxInt32 {
		return 0, false
	}
	return int(*f), true
}

func boolOf(raw json.RawMessage) (bool, bool) {
	var b *bool
	if json.Unmarshal(raw, &b) != nil || b == nil {
		return false, false
	}
	return *b, true
}

func quote(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
