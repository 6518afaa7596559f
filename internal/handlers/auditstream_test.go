package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/net/html"

	"github.com/raas-console/console/internal/auditsink"
	"github.com/raas-console/console/internal/handlers"
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

// With a webhook configured and nothing delivered yet, the Integrity page shows the
// receiver's host (never its path or query), that nothing was delivered, how many events
// wait, and that no replica ships — read from the real shipper's status on the database.
func TestAuditIntegrityShowsAConfiguredStream(t *testing.T) {
	e := newEnv(t, func(d *handlers.Deps) {
		hook, err := auditsink.NewWebhook(auditsink.WebhookOptions{
			URL: "https://siem.example:8088/services/collector?token=secret-in-query", Secret: []byte("0123456789abcdef0123")})
		if err != nil {
			t.Fatal(err)
		}
		shipper, err := auditsink.New(d.Database.(*pgxpool.Pool), d.Audit, []auditsink.Sink{hook}, auditsink.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d.AuditStream = shipper
	})
	b, _ := e.signedIn(operators.RoleAuditor)
	page := body(b.get("/audit/integrity"))
	rows := streamRows(streamSection(t, page))
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	row := rows[0]
	if row["Receiver"] != "siem.example:8088" || row["Delivered through"] != "none yet" || !strings.HasPrefix(row["Sink"], "webhook") {
		t.Errorf("row %v", row)
	}
	if waiting := row["Waiting"]; !strings.Contains(waiting, "events") || strings.HasPrefix(waiting, "0 events") {
		t.Errorf("waiting %q: the sign-in's events should be waiting", waiting)
	}
	if strings.Contains(page, "secret-in-query") || strings.Contains(page, "0123456789abcdef0123") {
		t.Error("the page shows a secret of the sink")
	}
	if text := streamText(streamSection(t, page)); !strings.Contains(text, "No replica is shipping") {
		t.Errorf("section: %s", text)
	}
}
