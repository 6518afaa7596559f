package handlers

import (
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/raas-console/console/web/templates"
)

// checkText explains what is wrong with a single-line text input, or returns "".
// Invalid UTF-8, NUL and control characters, invisible direction controls and overlong
// values are refused.
func checkText(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "contains bytes that are not valid UTF-8"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("is too long (at most %d characters)", max)
	}
	for _, r := range s {
		if r == 0 || (unicode.IsControl(r) && r != '\t') {
			return "contains control characters"
		}
	}
	if found := directionControls(s); len(found) > 0 {
		return "contains invisible direction-control characters (" + strings.Join(found, ", ") + ")"
	}
	return ""
}

// directionControls names, once each and in order of appearance, the direction-control
// characters in s: they reorder what a reader sees ("TICKET-1‮2-TEKCIT") without showing
// themselves, so an auditor could read something other than what was stored.
func directionControls(s string) []string {
	var found []string
	for _, r := range s {
		if !templates.IsDirectionControl(r) {
			continue
		}
		name := fmt.Sprintf("U+%04X", r)
		if !slices.Contains(found, name) {
			found = append(found, name)
		}
	}
	return found
}

// checkMultiline is checkText for text areas: line breaks are allowed.
func checkMultiline(s string, max int) string {
	return checkText(strings.NewReplacer("\r\n", " ", "\n", " ").Replace(s), max)
}

// bareAddress reports whether s is exactly one e-mail address, with no display name or
// angle brackets: "ann@example.com", not "Ann <ann@example.com>".
func bareAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
