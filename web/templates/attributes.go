package templates

import (
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// ariaDescribedBy is the aria-describedby attribute naming the ids in ids (separated by
// spaces), or no attribute at all when there is none: an empty aria-describedby is
// invalid HTML.
func ariaDescribedBy(ids string) templ.Attributes {
	ids = strings.Join(strings.Fields(ids), " ")
	if ids == "" {
		return nil
	}
	return templ.Attributes{"aria-describedby": ids}
}

// maxLength is the maxlength attribute for an input of inputType, or none for the types
// (date, number, …) on which maxlength is not allowed.
func maxLength(inputType string, n int) templ.Attributes {
	switch inputType {
	case "", "text", "search", "url", "tel", "email", "password":
		return templ.Attributes{"maxlength": strconv.Itoa(n)}
	}
	return nil
}

// localDateTime is s as a value a datetime-local input can hold (2026-12-02T14:05 or
// 2026-12-02T14:05:09; a date alone is its midnight), else "": what was typed in the
// address instead is named by the field's error message, never put back into the field.
func localDateTime(s string) string {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if _, err := time.Parse(layout, s); err == nil {
			return s
		}
	}
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s + "T00:00"
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format("2006-01-02T15:04:05")
	}
	return ""
}
