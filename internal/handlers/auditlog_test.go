package handlers_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
)

// appendEvent writes an event straight into the log, as another part of the console would.
func (e *env) appendEvent(ev audit.Event) audit.Event {
	e.t.Helper()
	if ev.Outcome == "" {
		ev.Outcome = audit.OutcomeSucceeded
	}
	stored, err := e.audit.Append(context.Background(), ev)
	if err != nil {
		e.t.Fatal(err)
	}
	return stored
}

func customerView(actor, clientID, email, reason string) audit.Event {
	return audit.Event{
		Actor:  audit.Actor{OperatorID: 1, Email: actor, Role: "support"},
		Action: audit.ActionCustomerView, Target: audit.Target{Type: "customer", ID: clientID, Label: email},
		Reason: reason, RequestID: "req-" + clientID,
	}
}

// rowSeqs are the events listed in a page of the log, in order.
func rowSeqs(html string) []int64 {
	var out []int64
	for _, m := range regexp.MustCompile(`, event (\d+)</span>`).FindAllStringSubmatch(html, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

// urlsIn are every href and data-hx-get of a page.
func urlsIn(html string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?:href|data-hx-get)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
		u := strings.ReplaceAll(m[1], "&amp;", "&")
		if dec, err := url.QueryUnescape(u); err == nil {
			u = dec
		}
		out = append(out, u)
	}
	return out
}

func TestAuditLogFiltersCombine(t *testing.T) {
	e := newEnv(t)
	b, auditor := e.signedIn(operators.RoleAuditor)
	ann := e.appendEvent(customerView("ann@example.com", "7001", "jan@example.org", "TICKET-1 reward missing"))
	e.appendEvent(customerView("bob@example.com", "7001", "jan@example.org", "TICKET-2 GDPR"))
	e.appendEvent(customerView("ann@example.com", "7002", "eva@example.org", "TICKET-3 GDPR"))
	denied := e.appendEvent(audit.Event{Actor: audit.Actor{Email: "ann@example.com"}, Action: audit.ActionAccessDenied,
		Outcome: audit.OutcomeDenied, Target: audit.Target{Type: "route", ID: "GET /settings"}})

	tests := []struct {
		query string
		want  []int64
	}{
		{"actor=ann%40example.com&action=customer.%2A", []int64{ann.Seq + 2, ann.Seq}},
		{"actor=ANN%40example.com&q=gdpr", []int64{ann.Seq + 2}},
		{"target=jan%40example.org", []int64{ann.Seq + 1, ann.Seq}},
		{"target=7002&outcome=succeeded", []int64{ann.Seq + 2}},
		{"outcome=denied", []int64{denied.Seq}},
		{"request=req-7001&actor=bob%40example.com", []int64{ann.Seq + 1}},
		{"action=customer.view&from=2000-01-01T00%3A00&to=2999-01-01", []int64{ann.Seq + 2, ann.Seq + 1, ann.Seq}},
		{"action=customer.view&to=2001-01-01", nil},
	}
	for _, tt := range tests {
		res := b.get("/audit?" + tt.query)
		html := body(res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", tt.query, res.StatusCode, html)
		}
		if got := rowSeqs(html); !slices.Equal(got, tt.want) {
			t.Errorf("%s: rows %v, want %v", tt.query, got, tt.want)
		}
	}
	ev, ok := e.lastEvent(audit.ActionAuditSearch)
	if !ok || ev.Actor.OperatorID != auditor.ID || !strings.Contains(string(ev.Detail), `"to":"2001-01-01"`) {
		t.Fatalf("search not audited with its filter: %+v %s", ev, ev.Detail)
	}
	// Human-readable: the action in words and the customer's e-mail beside the id.
	html := body(b.get("/audit?target=7001"))
	for _, want := range []string{"Viewed a customer", "jan@example.org", "customer 7001", "TICKET-1 reward missing", "badge-ok"} {
		if !strings.Contains(html, want) {
			t.Errorf("log page lacks %q", want)
		}
	}
}

func TestAuditLogRejectsBadFilters(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAdmin)
	res := b.get("/audit?from=yesterday&action=customer.teleport&outcome=maybe")
	html := body(res)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, want := range []string{`id="from-error"`, `id="action-error"`, `id="outcome-error"`, `<label for="audit-from">`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if res := b.get("/audit/export.csv?to=bad"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("export with a bad filter: %d", res.StatusCode)
	}
	if res := b.get("/audit?actor=%00x"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("NUL in a filter: %d", res.StatusCode)
	}
}

func TestAuditLogPagesStayPutAndWorkWithHTMX(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAuditor)
	for i := range 120 {
		e.appendEvent(customerView("ann@example.com", strconv.Itoa(8000+i), "c"+strconv.Itoa(i)+"@example.org", "r"))
	}
	first := body(b.get("/audit?action=customer.view"))
	rows := rowSeqs(first)
	if len(rows) != 50 {
		t.Fatalf("first page has %d rows", len(rows))
	}
	older := regexp.MustCompile(`href="(/audit\?[^"]*before=\d+[^"]*)" [^>]*rel="next"`).FindStringSubmatch(first)
	if older == nil {
		t.Fatal("no link to older events")
	}
	next := strings.ReplaceAll(older[1], "&amp;", "&")
	if !strings.Contains(next, "action=customer.view") {
		t.Fatalf("paging link %q lost the filter", next)
	}
	page2 := rowSeqs(body(b.get(next)))
	for range 30 { // new events arrive
		e.appendEvent(customerView("ann@example.com", "9999", "new@example.org", "r"))
	}
	again := body(b.htmxGet(next))
	if got := rowSeqs(again); !slices.Equal(got, page2) {
		t.Fatalf("page 2 moved after new events: %v, was %v", got, page2)
	}
	if strings.Contains(again, "<html") || !strings.Contains(again, `id="audit-workspace"`) {
		t.Fatal("htmx got a full page, want the workspace fragment")
	}
	if page2[0] != rows[49]-1 {
		t.Fatalf("page 2 starts at %d, page 1 ended at %d", page2[0], rows[49])
	}
	if !strings.Contains(again, "Newer events") || !strings.Contains(again, "Newest events") {
		t.Fatal("page 2 has no way back")
	}
	// The form filters through htmx and works as a plain GET form.
	if !strings.Contains(first, `method="get" action="/audit"`) || !strings.Contains(first, `data-hx-push-url="true"`) {
		t.Fatal("filter form is not a GET form enhanced with htmx")
	}
}

func TestAuditEventShowsItsPairAndDiff(t *testing.T) {
	e := newEnv(t)
	b, auditor := e.signedIn(operators.RoleAuditor)
	ctx := context.Background()
	intent, err := e.audit.Intent(ctx, audit.Event{
		Actor:  audit.Actor{OperatorID: 5, Email: "ann@example.com", Role: "support"},
		Action: audit.ActionCustomerUpdate, Target: audit.Target{Type: "customer", ID: "7001", Label: "jan@example.org"},
		Reason: "TICKET-9 moved", Before: json.RawMessage(`{"city":"Kraków","phone":"+48 1","gone":"x"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	outcome, err := e.audit.Outcome(ctx, intent, audit.OutcomeSucceeded, func(ev *audit.Event) {
		ev.After = json.RawMessage(`{"city":"Gdańsk","phone":"+48 1","new":"y"}`)
		ev.UpstreamStatus = 200
	})
	if err != nil {
		t.Fatal(err)
	}
	res := b.get("/audit/" + strconv.FormatInt(outcome.Seq, 10))
	html := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, html)
	}
	for _, want := range []string{
		"<h1>Audit event " + strconv.FormatInt(outcome.Seq, 10) + "</h1>", "Updated a customer", "TICKET-9 moved",
		"Kraków", "Gdańsk", ">changed<", ">added<", ">removed<", ">unchanged<",
		`href="/audit/` + strconv.FormatInt(intent.Seq, 10) + `"`,
		`href="/audit?actor=ann%40example.com"`, `href="/audit?target=7001"`,
		hexOf(outcome.Hash), "jan@example.org",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("event page lacks %s", want)
		}
	}
	if strings.Count(html, "<h1") != 1 {
		t.Error("event page has more than one h1")
	}
	ev, ok := e.lastEvent(audit.ActionAuditView)
	if !ok || ev.Actor.OperatorID != auditor.ID || ev.Target.ID != strconv.FormatInt(outcome.Seq, 10) {
		t.Fatalf("view not audited: %+v", ev)
	}
	html = body(b.get("/audit/" + strconv.FormatInt(intent.Seq, 10)))
	if !strings.Contains(html, `href="/audit/`+strconv.FormatInt(outcome.Seq, 10)+`"`) || !strings.Contains(html, "Gdańsk") {
		t.Error("intent page does not link its outcome or show the change")
	}
	if res := b.get("/audit/999999"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing event: %d", res.StatusCode)
	}
	if res := b.get("/audit/abc"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("bad seq: %d", res.StatusCode)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestAuditPagesPutNoCustomerDataInURLs(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(operators.RoleAuditor)
	ev := e.appendEvent(customerView("ann@example.com", "7001", "secret.person@example.org", "TICKET-1"))
	e.appendEvent(audit.Event{Actor: audit.Actor{Email: "ann@example.com"}, Action: audit.ActionCustomerSearch,
		Target: audit.Target{Type: "customer", Label: "other.person@example.org"}})
	for _, path := range []string{"/audit", "/audit?action=customer.*", "/audit/" + strconv.FormatInt(ev.Seq, 10), "/audit/" + strconv.FormatInt(ev.Seq+1, 10)} {
		html := body(b.get(path))
		for _, u := range urlsIn(html) {
			if strings.Contains(u, "person@example.org") {
				t.Errorf("%s links %q, which carries a customer's e-mail", path, u)
			}
		}
	}
	// What the auditor typed stays in the links, so the view can be shared.
	html := body(b.get("/audit?target=secret.person%40example.org"))
	found := false
	for _, u := range urlsIn(html) {
		if strings.HasPrefix(u, "/audit/export.csv?") && strings.Contains(u, "target=secret.person@example.org") {
			found = true
		}
	}
	if !found {
		t.Error("the export link lost the typed target")
	}
}

func TestAuditExportIsTheFilteredViewAndAudited(t *testing.T) {
	e := newEnv(t)
	b, auditor := e.signedIn(operators.RoleAuditor)
	var want []int64
	for i := range 130 {
		reason := "routine"
		if i%3 == 0 {
			reason = "=HYPERLINK(\"https://evil.example\")"
		}
		ev := e.appendEvent(customerView("ann@example.com", strconv.Itoa(i%2), "c@example.org", reason))
		if i%2 == 1 {
			want = append(want, ev.Seq)
		}
	}
	slices.Reverse(want)
	e.appendEvent(customerView("bob@example.com", "1", "c@example.org", "other actor"))

	query := "actor=ann%40example.com&target=1&from=2000-01-01T00%3A00&to=2999-12-31T23%3A59"
	res := b.get("/audit/export.csv?" + query)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %s", res.StatusCode, body(res))
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="audit-2000-01-01T00-00Z_2999-12-31T23-59Z.csv"` {
		t.Fatalf("content disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(body(res))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], audit.CSVHeader()) {
		t.Fatalf("header %v", rows[0])
	}
	var got []int64
	for _, r := range rows[1:] {
		n, _ := strconv.ParseInt(r[0], 10, 64)
		got = append(got, n)
		if r[10] != "routine" && !strings.HasPrefix(r[10], "'=") {
			t.Fatalf("formula not neutralised: %q", r[10])
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("CSV rows %v, want %v (all pages of the filtered view)", got, want)
	}
	intent, ok := e.lastEvent(audit.ActionAuditExport)
	if !ok || intent.Outcome != audit.OutcomeSucceeded || intent.IntentSeq == 0 || intent.Actor.OperatorID != auditor.ID ||
		!strings.Contains(string(intent.Detail), `"rows":65`) {
		t.Fatalf("export outcome: %+v %s", intent, intent.Detail)
	}
	first, err := e.audit.Get(context.Background(), intent.IntentSeq)
	if err != nil || !strings.Contains(string(first.Detail), `"actor":"ann@example.com"`) || !strings.Contains(string(first.Detail), `"target":"1"`) {
		t.Fatalf("export intent does not record the filter: %s %v", first.Detail, err)
	}

	res = b.get("/audit/export.ndjson?" + query)
	if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Header.Get("Content-Disposition"), `.ndjson"`) {
		t.Fatalf("ndjson: %d %s", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	got = nil
	sc := bufio.NewScanner(strings.NewReader(body(res)))
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Seq)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("NDJSON rows %v, want %v", got, want)
	}
	// An open range is named by where it starts and when the export ran.
	res = b.get("/audit/export.csv")
	if cd := res.Header.Get("Content-Disposition"); !regexp.MustCompile(`filename="audit-start_\d{4}-\d\d-\d\dT\d\d-\d\dZ\.csv"`).MatchString(cd) {
		t.Fatalf("open range file name %q", cd)
	}
}

func TestAuditIntegrityWithoutAKey(t *testing.T) {
	e := newEnv(t)
	b, auditor := e.signedIn(operators.RoleAuditor)
	res := b.get("/audit/integrity")
	html := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, html)
	}
	for _, want := range []string{"Intact", "Rows checked", "Checkpoints are off", "CONSOLE_AUDIT_SIGNING_KEY"} {
		if !strings.Contains(html, want) {
			t.Errorf("integrity page lacks %q", want)
		}
	}
	ev, ok := e.lastEvent(audit.ActionAuditVerify)
	if !ok || ev.Actor.OperatorID != auditor.ID || !strings.Contains(string(ev.Detail), `"intact":true`) {
		t.Fatalf("verify not audited: %+v", ev)
	}
	res = b.post("/audit/checkpoints", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkpoint without a key: %d", res.StatusCode)
	}
	if _, ok := e.lastEvent(audit.ActionAuditCheckpoint); ok {
		t.Fatal("a checkpoint was attempted without a key")
	}
}

func TestAuditIntegrityBreakAndCheckpoints(t *testing.T) {
	signer, err := audit.GenerateKeyFile(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(d *handlers.Deps) { d.Signer = signer })
	b, _ := e.signedIn(operators.RoleAdmin)
	res := b.post("/audit/checkpoints", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/audit/integrity" {
		t.Fatalf("record checkpoint: %d", res.StatusCode)
	}
	ev, ok := e.lastEvent(audit.ActionAuditCheckpoint)
	if !ok || ev.Outcome != audit.OutcomeSucceeded || !strings.Contains(string(ev.Detail), `"checkpointId":1`) {
		t.Fatalf("checkpoint not audited: %+v %s", ev, ev.Detail)
	}
	html := body(b.get("/audit/integrity"))
	for _, want := range []string{signer.PublicKeyBase64(), "Holds", `href="/audit/checkpoints/1"`, "Record a checkpoint now"} {
		if !strings.Contains(html, want) {
			t.Errorf("integrity page lacks %q", want)
		}
	}
	res = b.get("/audit/checkpoints/1")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "audit-checkpoint-") {
		t.Fatalf("download: %d %v", res.StatusCode, res.Header)
	}
	var cp audit.Checkpoint
	if err := json.Unmarshal([]byte(body(res)), &cp); err != nil || !cp.SignatureValid() {
		t.Fatalf("downloaded checkpoint: %+v %v", cp, err)
	}
	if err := e.audit.VerifyCheckpoint(context.Background(), cp, signer.PublicKey()); err != nil {
		t.Fatal(err)
	}

	// Alter a row as the database owner would: the page names it.
	conn, err := pgx.Connect(context.Background(), dbtest.AdminURL(t, e.pool.Config().ConnConfig.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), "UPDATE audit_events SET reason = 'covered up' WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Exec(context.Background(), "SET session_replication_role = origin")
	html = body(b.get("/audit/integrity"))
	if !strings.Contains(html, "Broken") || !strings.Contains(html, `href="/audit/2"`) || !strings.Contains(html, "hash mismatch") {
		t.Fatalf("integrity page does not name the altered row:\n%s", html)
	}
	if res := b.get("/audit/checkpoints/99"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing checkpoint: %d", res.StatusCode)
	}
}

func TestAuditAccessPerRole(t *testing.T) {
	e := newEnv(t)
	support, _ := e.signedIn(operators.RoleSupport)
	auditor, _ := e.signedIn(operators.RoleAuditor)
	admin, _ := e.signedIn(operators.RoleAdmin)
	for _, p := range []string{"/audit", "/audit/1", "/audit/export.csv", "/audit/export.ndjson", "/audit/integrity", "/audit/checkpoints/1"} {
		if res := support.get(p); res.StatusCode != http.StatusForbidden {
			t.Errorf("support on %s: %d, want 403", p, res.StatusCode)
		}
		for name, b := range map[string]*browser{"auditor": auditor, "admin": admin} {
			if res := b.get(p); res.StatusCode == http.StatusForbidden {
				t.Errorf("%s on %s: 403", name, p)
			}
		}
	}
	if res := support.post("/audit/checkpoints", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("support may record a checkpoint: %d", res.StatusCode)
	}
	// The auditor reads the log and nothing else: every customer and settings route is closed.
	n := 0
	for _, r := range e.handler.Routes() {
		if !strings.HasPrefix(r.Path, "/customers") && !strings.HasPrefix(r.Path, "/settings") {
			continue
		}
		n++
		path := strings.NewReplacer(":id", "999999", ":seq", "1").Replace(r.Path)
		var res *http.Response
		if r.Method == http.MethodGet {
			res = auditor.get(path)
		} else {
			res = auditor.post(path, nil)
		}
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("auditor on %s %s: %d, want 403", r.Method, r.Path, res.StatusCode)
		}
	}
	if n == 0 {
		t.Fatal("no customer or settings routes in the table")
	}
}
