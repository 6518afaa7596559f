package templates

import (
	"reflect"
	"testing"

	"github.com/a-h/templ"
)

func TestAriaDescribedByOnlyWithAnID(t *testing.T) {
	if got := ariaDescribedBy(" "); got != nil {
		t.Errorf("ariaDescribedBy(blank) = %v, want no attribute", got)
	}
	if got, want := ariaDescribedBy(" hint  phone-error "), (templ.Attributes{"aria-describedby": "hint phone-error"}); !reflect.DeepEqual(got, want) {
		t.Errorf("ariaDescribedBy = %v, want %v", got, want)
	}
}

func TestMaxLengthOnlyOnTextInputs(t *testing.T) {
	for _, typ := range []string{"date", "number", "checkbox"} {
		if got := maxLength(typ, 10); got != nil {
			t.Errorf("maxLength(%q) = %v, want no attribute", typ, got)
		}
	}
	if got := maxLength("tel", 10); got["maxlength"] != "10" {
		t.Errorf("maxLength(tel) = %v, want maxlength 10", got)
	}
}

func TestLocalDateTimeKeepsOnlyValidValues(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-02T14:05":          "2026-12-02T14:05",
		"2026-12-02T14:05:09":       "2026-12-02T14:05:09",
		"2026-12-02T14:05:09.25":    "2026-12-02T14:05:09.25",
		"not-a-time":                "",
		"2026-13-02T14:05":          "",
		"2026-12-02":                "2026-12-02T00:00",
		"2026-12-02T25:00":          "",
		"2026-12-02T15:05:09+01:00": "2026-12-02T14:05:09",
	} {
		if got := localDateTime(in); got != want {
			t.Errorf("localDateTime(%q) = %q, want %q", in, got, want)
		}
	}
}
