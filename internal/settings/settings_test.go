package settings

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/synerise"
)

// sample is a settings object as Synerise might send it: odd spacing, an unknown
// registration type, keys the console does not model (one nested), and a modelled key
// missing (allowPinResendFromDifferentDeviceId).
const sample = `{"registrationType": "REQUIRE_SOMETHING_NEW",
 "tokenLifetimeInSeconds":3600, "confirmationRedirectLink":null,"voucherPoolUuid":null,
 "allowOverwriteCustomIdentify":false,"allowEmailChangeFromWebForm":true,
 "pinConfirmationType":"ON_CONFLICT_WITH_EXTERNAL_ACCOUNT","pinConfirmationLength":6,
 "pinConfirmationValidInSeconds":300,
 "passwordResetMailSubject":"Reset \u00e9 <b>",
 "future":{"b":1.50, "a":[1, 2]}}`

func load(t testing.TB, s string) *synerise.Settings {
	t.Helper()
	var out synerise.Settings
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func mustField(t testing.TB, key string) Field {
	t.Helper()
	f, ok := Lookup(key)
	if !ok {
		t.Fatalf("no field %s", key)
	}
	return f
}

func TestEveryKnownKeyIsModelled(t *testing.T) {
	for _, k := range synerise.KnownKeys {
		f := mustField(t, k)
		if f.Label == "" || f.Help == "" {
			t.Errorf("%s: label or help missing", k)
		}
	}
	if len(Fields) != len(synerise.KnownKeys) {
		t.Errorf("%d fields for %d known keys", len(Fields), len(synerise.KnownKeys))
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		key, input, want string // want "" means a problem is expected
	}{
		{synerise.KeyRegistrationType, "AUTOMATIC", `"AUTOMATIC"`},
		{synerise.KeyRegistrationType, "REQUIRE_PIN_CONFIRMATION", `"REQUIRE_PIN_CONFIRMATION"`},
		{synerise.KeyRegistrationType, "automatic", ""},
		{synerise.KeyRegistrationType, "", ""},
		{synerise.KeyPinConfirmationType, "EVERYONE", `"EVERYONE"`},
		{synerise.KeyPinConfirmationType, "SOMETIMES", ""},
		{synerise.KeyPinConfirmationLength, "4", `4`},
		{synerise.KeyPinConfirmationLength, " 12 ", `12`},
		{synerise.KeyPinConfirmationLength, "3", ""},
		{synerise.KeyPinConfirmationLength, "13", ""},
		{synerise.KeyPinConfirmationLength, "6.0", ""},
		{synerise.KeyPinConfirmationLength, "+6", ""},
		{synerise.KeyPinConfirmationLength, "", ""},
		{synerise.KeyPinConfirmationValidInSeconds, "30", `30`},
		{synerise.KeyPinConfirmationValidInSeconds, "86400", `86400`},
		{synerise.KeyPinConfirmationValidInSeconds, "29", ""},
		{synerise.KeyPinConfirmationValidInSeconds, "86401", ""},
		{synerise.KeyTokenLifetimeInSeconds, "60", `60`},
		{synerise.KeyTokenLifetimeInSeconds, "31536000", `31536000`},
		{synerise.KeyTokenLifetimeInSeconds, "59", ""},
		{synerise.KeyTokenLifetimeInSeconds, "-3600", ""},
		{synerise.KeyTokenLifetimeInSeconds, "99999999999999999999", ""},
		{synerise.KeyConfirmationRedirectLink, "", `null`},
		{synerise.KeyConfirmationRedirectLink, "  ", `null`},
		{synerise.KeyConfirmationRedirectLink, "https://shop.example.com/welcome?x=1&y=<2>", `"https://shop.example.com/welcome?x=1&y=<2>"`},
		{synerise.KeyConfirmationRedirectLink, "http://localhost:8080/ok", `"http://localhost:8080/ok"`},
		{synerise.KeyConfirmationRedirectLink, "http://127.0.0.1/ok", `"http://127.0.0.1/ok"`},
		{synerise.KeyConfirmationRedirectLink, "http://shop.example.com/", ""},
		{synerise.KeyConfirmationRedirectLink, "javascript:alert(1)", ""},
		{synerise.KeyConfirmationRedirectLink, "shop.example.com/welcome", ""},
		{synerise.KeyConfirmationRedirectLink, "https://user:pw@shop.example.com/", ""},
		{synerise.KeyConfirmationRedirectLink, "ftp://shop.example.com/", ""},
		{synerise.KeyConfirmationRedirectLink, "https://shop.example.com/a b", ""},
		{synerise.KeyConfirmationRedirectLink, "https://" + strings.Repeat("a", 2100) + ".com", ""},
		{synerise.KeyConfirmationRedirectLink, "https://shop.example.com/\x00", ""},
		{synerise.KeyVoucherPoolUUID, "", `null`},
		{synerise.KeyVoucherPoolUUID, "3F2B8C1E-9A4D-4E2F-8B1A-0C9D7E6F5A4B", `"3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b"`},
		{synerise.KeyVoucherPoolUUID, "3f2b8c1e9a4d4e2f8b1a0c9d7e6f5a4b", ""},
		{synerise.KeyVoucherPoolUUID, "not-a-uuid", ""},
		{synerise.KeyAllowOverwriteCustomIdentify, "true", `true`},
		{synerise.KeyAllowOverwriteCustomIdentify, "on", `true`},
		{synerise.KeyAllowOverwriteCustomIdentify, "false", `false`},
		{synerise.KeyAllowOverwriteCustomIdentify, "yes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.input[:min(len(tt.input), 40)], func(t *testing.T) {
			f := mustField(t, tt.key)
			got, msg := f.Parse(tt.input)
			if tt.want == "" {
				if msg == "" {
					t.Fatalf("accepted as %s, want a problem", got)
				}
				return
			}
			if msg != "" || string(got) != tt.want {
				t.Fatalf("got %s %q, want %s", got, msg, tt.want)
			}
			if c := f.Check(got); c != "" {
				t.Fatalf("Check refuses what Parse made: %s", c)
			}
			if again, _ := f.Parse(f.FormValue(got)); !Equal(again, got) {
				t.Fatalf("FormValue does not round trip: %s → %q → %s", got, f.FormValue(got), again)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		key, raw string
		ok       bool
	}{
		{synerise.KeyRegistrationType, `"AUTOMATIC"`, true},
		{synerise.KeyRegistrationType, `"NEW_THING"`, false},
		{synerise.KeyRegistrationType, `null`, false},
		{synerise.KeyPinConfirmationLength, `6`, true},
		{synerise.KeyPinConfirmationLength, `"6"`, false},
		{synerise.KeyPinConfirmationLength, `6.5`, false},
		{synerise.KeyPinConfirmationLength, `99`, false},
		{synerise.KeyConfirmationRedirectLink, `null`, true},
		{synerise.KeyConfirmationRedirectLink, `"https://a.example/"`, true},
		{synerise.KeyConfirmationRedirectLink, `"http://a.example/"`, false},
		{synerise.KeyConfirmationRedirectLink, `5`, false},
		{synerise.KeyVoucherPoolUUID, `"3F2B8C1E-9A4D-4E2F-8B1A-0C9D7E6F5A4B"`, true},
		{synerise.KeyVoucherPoolUUID, `"x"`, false},
		{synerise.KeyAllowEmailChangeFromWebForm, `true`, true},
		{synerise.KeyAllowEmailChangeFromWebForm, `"true"`, false},
		{synerise.KeyAllowEmailChangeFromWebForm, `{`, false},
	}
	for _, tt := range tests {
		msg := mustField(t, tt.key).Check(json.RawMessage(tt.raw))
		if (msg == "") != tt.ok {
			t.Errorf("Check(%s, %s) = %q, want ok=%v", tt.key, tt.raw, msg, tt.ok)
		}
	}
}

func TestWordsAndEffect(t *testing.T) {
	tests := []struct {
		key, raw, words, effect string
	}{
		{synerise.KeyRegistrationType, `"REQUIRE_PIN_CONFIRMATION"`, "PIN confirmation", "cannot sign in until the customer enters the PIN"},
		{synerise.KeyRegistrationType, `"NEW_THING"`, "NEW_THING (a value this console does not know)", ""},
		{synerise.KeyPinConfirmationValidInSeconds, `600`, "600 seconds (10 minutes)", "PINs issued from now on expire after 600 seconds (10 minutes)."},
		{synerise.KeyTokenLifetimeInSeconds, `86400`, "86400 seconds (1 day)", "stay signed in for 86400 seconds (1 day)"},
		{synerise.KeyTokenLifetimeInSeconds, `7200`, "7200 seconds (2 hours)", ""},
		{synerise.KeyTokenLifetimeInSeconds, `61`, "61 seconds", ""},
		{synerise.KeyPinConfirmationLength, `8`, "8 digits", "PINs issued from now on have 8 digits."},
		{synerise.KeyConfirmationRedirectLink, `null`, "none", "Synerise's own page"},
		{synerise.KeyVoucherPoolUUID, `"3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b"`, "3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b", "from pool 3f2b8c1e"},
		{synerise.KeyAllowPinResendFromDifferentDeviceID, `true`, "on", "from any device"},
		{synerise.KeyAllowPinResendFromDifferentDeviceID, `false`, "off", "device that asked last"},
		{synerise.KeyAllowPinResendFromDifferentDeviceID, `"maybe"`, `"maybe"`, ""},
	}
	for _, tt := range tests {
		f := mustField(t, tt.key)
		if got := f.Words(json.RawMessage(tt.raw)); got != tt.words {
			t.Errorf("Words(%s, %s) = %q, want %q", tt.key, tt.raw, got, tt.words)
		}
		if got := f.Effect(json.RawMessage(tt.raw)); !strings.Contains(got, tt.effect) || (tt.effect == "" && got != "" && tt.key == synerise.KeyRegistrationType) {
			t.Errorf("Effect(%s, %s) = %q, want it to contain %q", tt.key, tt.raw, got, tt.effect)
		}
	}
	if got := mustField(t, synerise.KeyPinConfirmationLength).Words(nil); got != "not set" {
		t.Errorf("missing key in words: %q", got)
	}
}

// formFor is the settings form as the page renders it for s, with the inputs set to the
// loaded values; edits then replace inputs.
func formFor(s *synerise.Settings, edits map[string][]string) url.Values {
	l := LoadedFrom(s)
	form := url.Values{FingerprintField: {l.Fingerprint}}
	for _, f := range Fields {
		form.Set(WasField(f.Key), l.Was(f.Key))
		if f.Kind == KindBool {
			form[f.Key] = []string{"false"}
			if f.FormValue(l.Values[f.Key]) == "true" {
				form[f.Key] = append(form[f.Key], "true")
			}
		} else {
			form.Set(f.Key, f.FormValue(l.Values[f.Key]))
		}
	}
	for k, v := range edits {
		form[k] = v
	}
	return form
}

func TestParseEdit(t *testing.T) {
	s := load(t, sample)
	tests := []struct {
		name     string
		edits    map[string][]string
		changes  []string // "key=newJSON"
		problems []string
	}{
		{name: "untouched form changes nothing, unknown registration type kept"},
		{name: "one number", edits: map[string][]string{"pinConfirmationValidInSeconds": {"600"}},
			changes: []string{"pinConfirmationValidInSeconds=600"}},
		{name: "same number typed differently is no change", edits: map[string][]string{"pinConfirmationLength": {" 6 "}}},
		{name: "checkbox ticked", edits: map[string][]string{"allowOverwriteCustomIdentify": {"false", "true"}},
			changes: []string{"allowOverwriteCustomIdentify=true"}},
		{name: "checkbox unticked (only the hidden false)", edits: map[string][]string{"allowEmailChangeFromWebForm": {"false"}},
			changes: []string{"allowEmailChangeFromWebForm=false"}},
		{name: "missing bool left unticked stays missing"},
		{name: "missing bool ticked is added", edits: map[string][]string{"allowPinResendFromDifferentDeviceId": {"false", "true"}},
			changes: []string{"allowPinResendFromDifferentDeviceId=true"}},
		{name: "unknown registration type replaced", edits: map[string][]string{"registrationType": {"AUTOMATIC"}},
			changes: []string{`registrationType="AUTOMATIC"`}},
		{name: "url set and uuid set", edits: map[string][]string{
			"confirmationRedirectLink": {"https://shop.example.com/ok"}, "voucherPoolUuid": {"3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b"}},
			changes: []string{`confirmationRedirectLink="https://shop.example.com/ok"`, `voucherPoolUuid="3f2b8c1e-9a4d-4e2f-8b1a-0c9d7e6f5a4b"`}},
		{name: "invalid values", edits: map[string][]string{"pinConfirmationLength": {"3"}, "registrationType": {"BOGUS"},
			"confirmationRedirectLink": {"http://evil.example/"}},
			problems: []string{"pinConfirmationLength", "registrationType", "confirmationRedirectLink"}},
		{name: "fingerprint missing", edits: map[string][]string{FingerprintField: {""}}, problems: []string{FormProblem}},
		{name: "input without its loaded value", edits: map[string][]string{WasField("pinConfirmationLength"): nil, "pinConfirmationLength": {"8"}},
			problems: []string{"pinConfirmationLength"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := formFor(s, tt.edits)
			for k, v := range tt.edits {
				if v == nil {
					delete(form, k)
				}
			}
			e := ParseEdit(form)
			var got []string
			for _, c := range e.Changes {
				got = append(got, c.Key+"="+string(c.New))
				if want, _ := s.Raw(c.Key); !bytes.Equal(c.Old, compactRaw(want)) && c.Old != nil {
					t.Errorf("%s: old %s, want %s", c.Key, c.Old, want)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.changes, " ") {
				t.Errorf("changes %v, want %v", got, tt.changes)
			}
			if len(e.Problems) != len(tt.problems) {
				t.Errorf("problems %v, want on %v", e.Problems, tt.problems)
			}
			for _, p := range tt.problems {
				if e.Problems[p] == "" {
					t.Errorf("no problem on %s: %v", p, e.Problems)
				}
			}
		})
	}
}

func TestParseEditOnlySomeFields(t *testing.T) {
	s := load(t, sample)
	l := LoadedFrom(s)
	form := url.Values{FingerprintField: {l.Fingerprint}, WasField("pinConfirmationLength"): {l.Was("pinConfirmationLength")},
		"pinConfirmationLength": {"8"}}
	e := ParseEdit(form)
	if len(e.Problems) != 0 || len(e.Changes) != 1 || e.Changes[0].String() != "PIN length: 6 digits → 8 digits" {
		t.Fatalf("%+v", e)
	}
}

func TestParseConfirm(t *testing.T) {
	s := load(t, sample)
	l := LoadedFrom(s)
	base := func() url.Values {
		form := url.Values{FingerprintField: {l.Fingerprint}}
		for _, f := range Fields {
			form.Set(WasField(f.Key), l.Was(f.Key))
		}
		return form
	}
	form := base()
	form.Set(NewField("pinConfirmationLength"), "8")
	form.Set(NewField("confirmationRedirectLink"), `"https://shop.example.com/"`)
	form.Set(NewField("tokenLifetimeInSeconds"), "3600") // same as loaded: no change
	loaded, changes, problems := ParseConfirm(form)
	if len(problems) != 0 || loaded.Fingerprint != l.Fingerprint {
		t.Fatalf("problems %v", problems)
	}
	if got := strings.Join(Keys(changes), ","); got != "pinConfirmationLength,confirmationRedirectLink" {
		t.Fatalf("changes %s", got)
	}

	tampered := base()
	tampered.Set(NewField("pinConfirmationLength"), "99")
	tampered.Set(NewField("registrationType"), `"HACK"`)
	tampered.Set(NewField("voucherPoolUuid"), `{"x":1}`)
	tampered.Set(NewField("passwordResetMailSubject"), `"not modelled"`)
	tampered.Set(NewField("allowOverwriteCustomIdentify"), `tru`)
	_, changes, problems = ParseConfirm(tampered)
	if len(changes) != 0 || len(problems) != 4 {
		t.Fatalf("tampered confirm: changes %v problems %v", changes, problems)
	}
}

func TestApplyKeepsEveryOtherKeyByteExact(t *testing.T) {
	s := load(t, sample)
	changes := []Change{
		{Key: "pinConfirmationValidInSeconds", Old: json.RawMessage("300"), New: json.RawMessage("600")},
		{Key: "allowPinResendFromDifferentDeviceId", New: json.RawMessage("true")},
	}
	out, err := Apply(s, changes)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range s.Keys() {
		before, _ := s.Raw(k)
		after, _ := out.Raw(k)
		if k == "pinConfirmationValidInSeconds" {
			if string(after) != "600" {
				t.Errorf("%s = %s", k, after)
			}
			continue
		}
		if !bytes.Equal(before, after) {
			t.Errorf("%s changed: %s → %s", k, before, after)
		}
	}
	wantKeys := append(s.Keys(), "allowPinResendFromDifferentDeviceId")
	if strings.Join(out.Keys(), ",") != strings.Join(wantKeys, ",") {
		t.Errorf("key order %v", out.Keys())
	}
	if got, _ := s.Raw("pinConfirmationValidInSeconds"); string(got) != "300" {
		t.Error("Apply changed its input")
	}
	if _, err := Apply(s, []Change{{Key: "future", New: json.RawMessage("1")}}); err == nil {
		t.Error("Apply changed a key the console does not model")
	}
	if _, err := Apply(s, []Change{{Key: "pinConfirmationLength"}}); err == nil {
		t.Error("Apply took a change without a new value")
	}
	if d := Diff(s, out); len(d) != 2 {
		t.Errorf("Diff after Apply: %v", d)
	}
}

func TestDiff(t *testing.T) {
	a := load(t, `{"a":1,"b":{"x":1,"y":2},"c":"s","d":null}`)
	tests := []struct {
		after, want string
	}{
		{`{"d":null, "c":"s","b":{"y":2,"x":1},"a":1}`, ""},
		{`{"a":1.0,"b":{"x":1,"y":2},"c":"s","d":null}`, "a"},
		{`{"a":1,"b":{"x":1},"c":"s","d":null,"e":true}`, "b,e"},
		{`{"a":1,"b":{"x":1,"y":2},"c":"s"}`, "d"},
	}
	for _, tt := range tests {
		got := Keys(Diff(a, load(t, tt.after)))
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Diff(…, %s) = %v, want %s", tt.after, got, tt.want)
		}
	}
	d := Diff(a, load(t, `{"a":1,"b":{"x":1,"y":2},"c":"s"}`))
	if d[0].New != nil || d[0].String() != "d: null → not set" {
		t.Errorf("removed key: %+v %q", d[0], d[0].String())
	}
}

func TestRebase(t *testing.T) {
	fresh := load(t, `{"pinConfirmationLength":8,"pinConfirmationValidInSeconds":300}`)
	changes := []Change{
		{Key: "pinConfirmationLength", Old: json.RawMessage("6"), New: json.RawMessage("8")},
		{Key: "pinConfirmationValidInSeconds", Old: json.RawMessage("120"), New: json.RawMessage("600")},
		{Key: "allowOverwriteCustomIdentify", Old: json.RawMessage("false"), New: json.RawMessage("true")},
	}
	got := Rebase(fresh, changes)
	if len(got) != 2 || string(got[0].Old) != "300" || got[1].Old != nil {
		t.Fatalf("%+v", got)
	}
}

func TestOthersAndValues(t *testing.T) {
	s := load(t, sample)
	if got := strings.Join(Others(s), ","); got != "passwordResetMailSubject,future" {
		t.Errorf("Others = %s", got)
	}
	v := Values(s)
	if v["allowPinResendFromDifferentDeviceId"] != nil || string(v["pinConfirmationLength"]) != "6" || len(v) != len(Fields) {
		t.Errorf("Values = %v", v)
	}
}

func compactRaw(raw json.RawMessage) json.RawMessage { return json.RawMessage(compact(raw)) }

func BenchmarkDiff(b *testing.B) {
	before := load(b, sample)
	after, err := Apply(before, []Change{{Key: "pinConfirmationLength", New: json.RawMessage("8")}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(Diff(before, after)) != 1 {
			b.Fatal("wrong diff")
		}
	}
}
