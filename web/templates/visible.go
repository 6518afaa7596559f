package templates

import (
	"fmt"
	"strings"
)

// IsDirectionControl reports whether r is one of the invisible characters that change the
// direction text is shown in: the embeddings and overrides U+202A–U+202E, the isolates
// U+2066–U+2069, the marks U+200E, U+200F and the Arabic letter mark U+061C.
func IsDirectionControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return r == 0x200E || r == 0x200F || r == 0x061C
}

// Visible is stored text as a page shows it: every direction-control character is written
// out as ⟦U+202E⟧, so that it cannot reorder what the reader sees and is noticed instead.
// Templates pass every piece of stored or upstream text through it.
func Visible(s string) string {
	if strings.IndexFunc(s, IsDirectionControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if IsDirectionControl(r) {
			fmt.Fprintf(&b, "⟦U+%04X⟧", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
