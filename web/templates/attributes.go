package templates

import (
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
