package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/web/templates"
)

// streamSection is the "Streaming to your SIEM" section of page, found by its heading.
func streamSection(t testing.TB, page string) *html.Node {
	t.Helper()
	var found *html.Node
	custWalk(custParseHTML(t, page), func(n *html.Node) {
		if id, _ := custAttr(n, "aria-labelledby"); n.Data == "section" && found == nil && id != "" {
			custWalk(n, func(h *html.Node) {
				if hid, _ := custAttr(h, "id"); h.Data == "h2" && hid == id && streamText(h) == "Streaming to your SIEM" {
					found = n
				}
			})
		}
	})
	if found == nil {
		t.Fatalf("no section headed Streaming to your SIEM in:\n%s", page)
	}
	return found
}

// streamText is n's text with its white space collapsed, as a reader sees it.
func streamText(n *html.Node) string { return strings.Join(strings.Fields(custText(n)), " ") }

// streamRows are the sink table's rows: header cell text to cell text.
func streamRows(section *html.Node) []map[string]string {
	var heads []string
	var rows []map[string]string
	custWalk(section, func(n *html.Node) {
		if n.Data == "th" && n.Parent != nil && n.Parent.Parent != nil && n.Parent.Parent.Data == "thead" {
			heads = append(heads, streamText(n))
		}
		if n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" {
			row, i := map[string]string{}, 0
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && i < len(heads) {
					row[heads[i]], i = streamText(c), i+1
				}
			}
			rows = append(rows, row)
		}
	})
	return rows
}

func TestAuditIntegrityStreamNotConfigured(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAuditor)
	res := b.get("/audit/integrity")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, page)
	}
	text := streamText(streamSection(t, page))
	for _, want := range []string{"Not configured", "CONSOLE_AUDIT_WEBHOOK_URL", "CONSOLE_AUDIT_WEBHOOK_SECRET", "CONSOLE_AUDIT_SYSLOG_ADDR"} {
		if !strings.Contains(text, want) {
			t.Errorf("stream section lacks %q: %s", want, text)
		}
	}
	if n := strings.Count(page, "<h1"); n != 1 {
		t.Errorf("page has %d h1", n)
	}
}

func TestAuditStreamSectionShowsEachSink(t *testing.T) {
	v := templates.AuditStream{Configured: true, Shipping: "nowhere", Sinks: []templates.AuditStreamSink{
		{Name: "syslog", Where: "siem.example:6514", DeliveredThrough: "seq 42", LagEvents: "3", LagSeconds: "1.5",
			Failing: true, LastError: "syslog siem.example:6514: <script>alert(1)</script> \u202Ereset", LastErrorAt: "2025-03-04 05:06:07 UTC"},
		{Name: "webhook", Where: "hec.example", DeliveredThrough: "none yet", LagEvents: "0", LagSeconds: "0.0"},
	}}
	var buf bytes.Buffer
	if err := templates.AuditStreamSection(v).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	section := streamSection(t, buf.String())
	if strings.Contains(buf.String(), "<script>") || !strings.Contains(buf.String(), "⟦U+202E⟧") {
		t.Errorf("an error's text is not shown inert: %s", buf.String())
	}
	rows := streamRows(section)
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	want := []map[string]string{
		{"Sink": "syslog Failing", "Receiver": "siem.example:6514", "Delivered through": "seq 42", "Waiting": "3 events, 1.5 s",
			"Last error": "syslog siem.example:6514: <script>alert(1)</script> ⟦U+202E⟧reset (2025-03-04 05:06:07 UTC)"},
		{"Sink": "webhook Healthy", "Receiver": "hec.example", "Delivered through": "none yet", "Waiting": "0 events, 0.0 s", "Last error": "None"},
	}
	for i := range want {
		for k, w := range want[i] {
			if rows[i][k] != w {
				t.Errorf("row %d, %s: %q, want %q", i, k, rows[i][k], w)
			}
		}
	}
	for shipping, words := range map[string]string{
		"here": "This replica is shipping", "elsewhere": "Another replica is shipping", "nowhere": "No replica is shipping",
	} {
		buf.Reset()
		v.Shipping = shipping
		_ = templates.AuditStreamSection(v).Render(context.Background(), &buf)
		if !strings.Contains(streamText(streamSection(t, buf.String())), words) {
			t.Errorf("shipping %s: section does not say %q", shipping, words)
		}
	}
}
