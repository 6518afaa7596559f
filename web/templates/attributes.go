package templates

import (
	"strconv"
	"strings"

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
