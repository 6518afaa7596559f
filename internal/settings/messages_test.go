package settings

import (
	"strings"
	"testing"

	"github.com/raas-console/console/internal/synerise"
)

// Every refusal of a confirmation redirect link says what a link that can be used looks
// like, with an example an admin can follow, not only what is wrong.
func TestRedirectLinkRefusalsShowAValidLink(t *testing.T) {
	f, ok := Lookup(synerise.KeyConfirmationRedirectLink)
	if !ok {
		t.Fatal("no confirmation redirect link")
	}
	for _, tt := range []struct{ input, want string }{
		{"not a url at all", "Enter a full link starting with https://, such as https://shop.example.com/welcome"},
		{"shop.example.com/welcome", "Enter a full link starting with https://, such as https://shop.example.com/welcome"},
		{"//shop.example.com/welcome", "Enter a full link starting with https://"},
		{"javascript:alert(1)", "Enter a full link starting with https://"},
		{"https://", "with a site name after https://, such as https://shop.example.com/welcome"},
		{"https://shop.example.com/my page", "write each space as %20, such as https://shop.example.com/my%20page"},
		{"http://shop.example.com/welcome", "Start the link with https://, such as https://shop.example.com/welcome (http:// is allowed only for localhost)"},
		{"ftp://shop.example.com/welcome", "Enter a link starting with https://, such as https://shop.example.com/welcome (ftp: links cannot be used"},
		{"https://ada:secret@shop.example.com/welcome", "without a user name or password before the site name, such as https://shop.example.com/welcome"},
		{"https://shop.example.com/" + strings.Repeat("a", 2100), "a link may have at most 2048. Enter a shorter full link, such as https://shop.example.com/welcome"},
		{"https://shop.example.com/\x01", "Type the value on one line, without control characters"},
	} {
		raw, msg := f.Parse(tt.input)
		if raw != nil || !strings.Contains(msg, tt.want) {
			t.Errorf("Parse(%.40q) = %s, %q; want a refusal saying %q", tt.input, raw, msg, tt.want)
		}
		if c := f.Check(quote(tt.input)); !strings.HasPrefix(c, "is not ") || !strings.Contains(c, tt.want) {
			t.Errorf("Check(%.40q) = %q; want %q after the field's label", tt.input, c, tt.want)
		}
	}
	for _, ok := range []string{"", "https://shop.example.com/welcome?from=mail", "http://localhost:8080/x", "http://127.0.0.1/x"} {
		if _, msg := f.Parse(ok); msg != "" {
			t.Errorf("Parse(%q) refused: %q", ok, msg)
		}
	}
}

// The other settings' refusals say what to enter as well.
func TestFieldRefusalsSayWhatIsWanted(t *testing.T) {
	for _, f := range Fields {
		var bad, want string
		switch f.Kind {
		case KindChoice:
			bad, want = "SOMETHING_ELSE", "Choose one of the listed options."
		case KindInt:
			bad, want = "many", "Enter a whole number from "
		case KindUUID:
			bad, want = "pool-1", "Enter a UUID such as "
		case KindBool:
			bad, want = "maybe", "Tick or untick the box."
		case KindURL:
			bad, want = "pool-1", "such as https://"
		}
		if _, msg := f.Parse(bad); !strings.Contains(msg, want) {
			t.Errorf("%s: Parse(%q) = %q, want %q", f.Key, bad, msg, want)
		}
		if _, msg := f.Parse("a\nb"); !strings.Contains(msg, "Type the value on one line") {
			t.Errorf("%s: a line break gets %q", f.Key, msg)
		}
	}
}
