package profile

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raas-console/console/internal/synerise"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// rules checks typed text the way the console does for length only.
var rules = Rules{Now: now, Text: func(s string, max int) string {
	if strings.ContainsRune(s, 0) {
		return "contains control characters"
	}
	if len([]rune(s)) > max {
		return "is too long"
	}
	return ""
}}

func TestTablesMatchTheClient(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields {
		if seen[f.Name] {
			t.Errorf("field %s listed twice", f.Name)
		}
		seen[f.Name] = true
		if !slices.Contains(synerise.ProfileUpdateFields, f.Name) {
			t.Errorf("field %s: synerise.ProfileUpdate cannot set it", f.Name)
		}
		if f.ref == nil || f.Label == "" {
			t.Errorf("field %s: no accessor or label", f.Name)
		}
		// The accessor reaches the profile field of the same JSON name.
		var p synerise.Profile
		f.Set(&p, "x")
		raw, _ := json.Marshal(p)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		if m[f.Name] != "x" || f.Get(&p) != "x" {
			t.Errorf("field %s: accessor writes another field: %s", f.Name, raw)
		}
	}
	if len(Agreements) != len(synerise.AgreementNames) {
		t.Errorf("agreements %d, the client knows %d", len(Agreements), len(synerise.AgreementNames))
	}
	for _, a := range Agreements {
		var p synerise.Profile
		a.Set(&p, true)
		raw, _ := json.Marshal(p.Agreements)
		var m map[string]bool
		_ = json.Unmarshal(raw, &m)
		if !m[a.Name] || !a.Get(&p) || !slices.Contains(synerise.AgreementNames, a.Name) {
			t.Errorf("agreement %s: accessor writes another consent: %s", a.Name, raw)
		}
	}
}

func TestFieldCheck(t *testing.T) {
	tests := []struct {
		field, value, want string // want: a prefix of the message, "" for accepted
	}{
		{"firstName", "Ann", ""},
		{"firstName", "", ""},
		{"firstName", strings.Repeat("x", 256), "is too long."},
		{"lastName", "a\x00b", "contains control characters."},
		{"phone", "+48 600 100 200", ""},
		{"phone", "600100", ""},
		{"phone", "+48-600-100-200", "may hold only digits and spaces"},
		{"phone", "(48) 600 100 200", "may hold only digits and spaces"},
		{"phone", "12345", "may hold only digits and spaces"},
		{"birthDate", "1988-04-12", ""},
		{"birthDate", "12.04.1988", "must be a date such as 1988-04-12."},
		{"birthDate", "1900-01-01", "must be after 1900-01-01."},
		{"birthDate", "1900-01-02", ""},
		{"birthDate", "2025-06-01", ""},
		{"birthDate", "2025-06-02", "cannot be in the future."},
		{"countryCode", "PL", ""},
		{"countryCode", "+48", ""},
		{"countryCode", "pl", "must be a two-letter ISO 3166 code"},
		{"countryCode", "+12345", "must be a two-letter ISO 3166 code"},
		{"sex", "FEMALE", ""},
		{"sex", "OTHER", ""},
		{"sex", "female", "must be one of the listed choices."},
		{"sex", "", ""},
		{"city", "Kraków", ""},
	}
	for _, tt := range tests {
		f, ok := Lookup(tt.field)
		if !ok {
			t.Fatalf("no field %s", tt.field)
		}
		got := f.Check(tt.value, rules)
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s %q: %q, want %q", tt.field, tt.value, got, tt.want)
		}
	}
}

func TestInputsAndWords(t *testing.T) {
	types := map[string]string{}
	for _, f := range Fields {
		types[f.Name] = f.InputType()
	}
	want := map[string]string{"firstName": "text", "lastName": "text", "displayName": "text", "sex": "",
		"phone": "tel", "birthDate": "date", "company": "text", "address": "text", "city": "text",
		"province": "text", "zipCode": "text", "countryCode": "text"}
	for name, typ := range want {
		if got, ok := types[name]; !ok || got != typ {
			t.Errorf("%s: input type %q, want %q", name, got, typ)
		}
	}
	sex, _ := Lookup("sex")
	city, _ := Lookup("city")
	tests := []struct {
		f    Field
		v    any
		want string
	}{
		{sex, "FEMALE", "Female"}, {sex, "NOT_SPECIFIED", "Not specified"}, {sex, "PREFER_NOT_TO_SAY", "PREFER_NOT_TO_SAY"},
		{sex, "", ""}, {sex, nil, "(empty)"},
		{city, "Gdańsk", "Gdańsk"}, {city, "", ""}, {city, nil, "(empty)"},
	}
	for _, tt := range tests {
		if got := tt.f.Words(tt.v); got != tt.want {
			t.Errorf("%s %v: %q, want %q", tt.f.Name, tt.v, got, tt.want)
		}
	}
	opts := sex.Options("PREFER_NOT_TO_SAY")
	if len(opts) != 6 || opts[0] != (Choice{"", "(not set)"}) || opts[5] != (Choice{"PREFER_NOT_TO_SAY", "PREFER_NOT_TO_SAY (as stored in Synerise)"}) {
		t.Errorf("options %v", opts)
	}
	if got := len(sex.Options("MALE")); got != 5 {
		t.Errorf("options of a known value: %d", got)
	}
}

func TestReserved(t *testing.T) {
	want := []string{"clientid", "uuid", "email", "customid", "phone", "firstname", "lastname", "displayname",
		"company", "address", "city", "province", "zipcode", "countrycode", "birthdate", "sex", "avatarurl",
		"anonymous", "lastactivitydate", "agreements", "attributes", "tags"}
	if !reflect.DeepEqual(profileKeys, want) {
		t.Errorf("profile keys %v", profileKeys)
	}
	for key, reserved := range map[string]bool{"snrs_email_confirmed": true, "SNRS_x": true, "FirstName": true, "tags": true,
		"tier": false, "email2": false, "snrs": false} {
		if Reserved(key) != reserved {
			t.Errorf("Reserved(%q) = %v", key, !reserved)
		}
	}
}

func TestAttributeInputAndWords(t *testing.T) {
	tests := []struct {
		raw, text string
		readOnly  bool
		kind      string
		words     string
	}{
		{`null`, "", false, "null (no value)", "(null)"},
		{`""`, "", false, "empty text", "(empty text)"},
		{`"gold"`, "gold", false, "", "gold"},
		{`42`, "42", false, "a number", "42"},
		{`1.50`, "1.50", false, "a number", "1.50"},
		{`true`, "true", false, "true or false", "true"},
		{`[1, 2]`, "[1,2]", true, "A list", "[1,2]"},
		{`{"a": 1}`, `{"a":1}`, true, "An object", `{"a":1}`},
	}
	for _, tt := range tests {
		text, ro, kind := AttributeInput(json.RawMessage(tt.raw))
		if text != tt.text || ro != tt.readOnly || kind != tt.kind {
			t.Errorf("%s: %q %v %q", tt.raw, text, ro, kind)
		}
		if got := AttributeWords(json.RawMessage(tt.raw)); got != tt.words {
			t.Errorf("%s words: %q", tt.raw, got)
		}
	}
}

func testProfile() *synerise.Profile {
	return &synerise.Profile{ClientID: 7, Email: "ann@example.com", FirstName: "Ann", City: "Gdańsk", Sex: "FEMALE",
		Phone: "+48-600", Agreements: synerise.Agreements{SMS: true},
		Attributes: map[string]json.RawMessage{
			"tier": json.RawMessage(`"gold"`), "visits": json.RawMessage(`42`), "vip": json.RawMessage(`true`),
			"note": json.RawMessage(`null`), "empty": json.RawMessage(`""`), "list": json.RawMessage(`[1, 2]`),
			"snrs_email_confirmed": json.RawMessage(`"true"`), "City": json.RawMessage(`"x"`),
		}}
}

// submit is the form as loaded from p, as a browser sends it back after edit.
func submit(p *synerise.Profile, edit func(url.Values)) Form {
	f := FormOf(InfoOf(p))
	v := url.Values{}
	for k, s := range f.Fields {
		v.Set(k, s)
	}
	for k, on := range f.Agreements {
		if on {
			v.Set(AgreementField(k), "on")
		}
	}
	rows := 0
	for _, r := range f.Attributes {
		n := itoa(rows)
		v.Set(AttributeField(n, "orig"), r.Orig)
		v.Set(AttributeField(n, "value"), r.Value)
		rows++
	}
	for range 2 {
		n := itoa(rows)
		v.Set(AttributeField(n, "key"), "")
		v.Set(AttributeField(n, "value"), "")
		rows++
	}
	v.Set(AttributeRowsField, itoa(rows))
	edit(v)
	return ReadForm(v.Get)
}

func itoa(i int) string { return string(rune('0' + i)) }

// row finds the number of the stored attribute's row in a submitted form.
func row(v url.Values, key string) string {
	for i := range 10 {
		if v.Get(AttributeField(itoa(i), "orig")) == key {
			return itoa(i)
		}
	}
	return ""
}

func TestInfoLeavesReservedAttributesOut(t *testing.T) {
	b := InfoOf(testProfile())
	if _, ok := b.Attributes["snrs_email_confirmed"]; ok {
		t.Error("snrs_ attribute is editable")
	}
	if _, ok := b.Attributes["City"]; ok {
		t.Error("an attribute named like a field is editable")
	}
	if string(b.Attributes["list"]) != "[1,2]" || b.Fields["city"] != "Gdańsk" || !b.Agreements["sms"] || len(b.Fields) != len(Fields) {
		t.Errorf("info %+v", b)
	}
	got, ok := DecodeInfo(b.Encode(), b.Fingerprint())
	if !ok || !reflect.DeepEqual(got, b) {
		t.Errorf("round trip: %v %+v", ok, got)
	}
	if _, ok := DecodeInfo(b.Encode(), strings.Repeat("0", 64)); ok {
		t.Error("a form whose fingerprint does not match was accepted")
	}
	if _, ok := DecodeInfo("!!", b.Fingerprint()); ok {
		t.Error("damaged base64 was accepted")
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(v url.Values)
		changes  []Change
		problems map[string]string
	}{
		{"nothing typed", func(url.Values) {}, nil, map[string]string{}},
		{"a stored phone the console would refuse is left alone", func(v url.Values) { v.Set("city", "Sopot") },
			[]Change{{Path: "city", Label: "City", Before: "Gdańsk", After: "Sopot"}}, map[string]string{}},
		{"cleared field", func(v url.Values) { v.Set("firstName", "  ") },
			[]Change{{Path: "firstName", Label: "First name", Before: "Ann"}}, map[string]string{}},
		{"agreement", func(v url.Values) { v.Del(AgreementField("sms")); v.Set(AgreementField("webPush"), "on") },
			[]Change{{Path: "agreements.sms", Label: "Agreement: SMS", Before: true, After: false},
				{Path: "agreements.webPush", Label: "Agreement: Web push", Before: false, After: true}}, map[string]string{}},
		{"bad values", func(v url.Values) { v.Set("phone", "+48-601"); v.Set("sex", "X"); v.Set("birthDate", "2999-01-01") }, nil,
			map[string]string{"phone": "Phone may hold only digits and spaces, with an optional leading + (6 to 20 characters), such as +48 600 100 200. Synerise does not accept dashes or brackets.",
				"sex": "Sex must be one of the listed choices.", "birthDate": "Birth date cannot be in the future."}},
		{"typed attributes keep their type", func(v url.Values) {
			v.Set(AttributeField(row(v, "visits"), "value"), " 43 ")
			v.Set(AttributeField(row(v, "vip"), "value"), "false")
			v.Set(AttributeField(row(v, "tier"), "value"), "")
		}, []Change{
			{Path: "attributes.tier", Label: "Attribute tier", Before: json.RawMessage(`"gold"`), After: ""},
			{Path: "attributes.vip", Label: "Attribute vip", Before: json.RawMessage(`true`), After: false},
			{Path: "attributes.visits", Label: "Attribute visits", Before: json.RawMessage(`42`), After: json.Number("43")},
		}, map[string]string{}},
		{"a number that is no longer one is text", func(v url.Values) { v.Set(AttributeField(row(v, "visits"), "value"), "many") },
			[]Change{{Path: "attributes.visits", Label: "Attribute visits", Before: json.RawMessage(`42`), After: "many"}}, map[string]string{}},
		{"null and empty text shown as empty stay as they are", func(url.Values) {}, nil, map[string]string{}},
		{"null given a value", func(v url.Values) { v.Set(AttributeField(row(v, "note"), "value"), "hi") },
			[]Change{{Path: "attributes.note", Label: "Attribute note", Before: json.RawMessage(`null`), After: "hi"}}, map[string]string{}},
		{"a list changes only by Remove", func(v url.Values) {
			v.Set(AttributeField(row(v, "list"), "value"), "edited")
			v.Set(AttributeField(row(v, "tier"), "remove"), "on")
		}, []Change{{Path: "attributes.tier", Label: "Attribute tier", Before: json.RawMessage(`"gold"`), Remove: true}}, map[string]string{}},
		{"new attribute", func(v url.Values) {
			v.Set(AttributeField("6", "key"), "size")
			v.Set(AttributeField("6", "value"), "M")
		},
			[]Change{{Path: "attributes.size", Label: "Attribute size", After: "M"}}, map[string]string{}},
		{"new attribute problems", func(v url.Values) {
			v.Set(AttributeField("6", "key"), "snrs_x")
			v.Set(AttributeField("7", "key"), "tier")
			v.Set(AttributeField("7", "value"), "x")
		}, nil, map[string]string{
			"attr.6.key": "Synerise reserves snrs_x (snrs_ keys and profile field names).", "attr.6.value": "Give the new attribute a value.",
			"attr.7.key": "Attribute tier is already listed; change it in its own row."}},
		{"new attribute without key, bad key", func(v url.Values) {
			v.Set(AttributeField("6", "value"), "x")
			v.Set(AttributeField("7", "key"), "a b")
			v.Set(AttributeField("7", "value"), "x")
		}, nil, map[string]string{"attr.6.key": "Give the new attribute a key, or empty its value.",
			"attr.7.key": "A key may hold only letters, digits and _ . -"}},
		{"a stored row the form did not load", func(v url.Values) {
			v.Set(AttributeField("6", "orig"), "ghost")
			v.Set(AttributeField("6", "value"), "x")
		},
			nil, map[string]string{"attr.6.value": "Attribute ghost is not editable here."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProfile()
			changes, problems := Diff(InfoOf(p), submit(p, tt.edit), rules)
			if !reflect.DeepEqual(changes, tt.changes) || !reflect.DeepEqual(problems, tt.problems) {
				t.Errorf("changes %#v\nproblems %#v", changes, problems)
			}
		})
	}
}

func TestUpdateApplyAndWords(t *testing.T) {
	p := testProfile()
	changes, problems := Diff(InfoOf(p), submit(p, func(v url.Values) {
		v.Set("firstName", "")
		v.Set("sex", "MALE")
		v.Set(AgreementField("wifi"), "on")
		v.Set(AttributeField(row(v, "visits"), "value"), "43")
		v.Set(AttributeField(row(v, "tier"), "remove"), "on")
		v.Set(AttributeField("6", "key"), "size")
		v.Set(AttributeField("6", "value"), "M")
	}), rules)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	u, err := Update(changes)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(u)
	want := `{"agreements":{"wifi":true},"attributes":{"size":"M","tier":null,"visits":43},"firstName":null,"sex":"MALE"}`
	if string(body) != want {
		t.Errorf("update %s", body)
	}
	after := Apply(p, changes)
	if after.FirstName != "" || after.Sex != "MALE" || !after.Agreements.WiFi || !after.Agreements.SMS ||
		string(after.Attributes["visits"]) != "43" || string(after.Attributes["size"]) != `"M"` || after.Attributes["tier"] != nil {
		t.Errorf("applied %+v", after)
	}
	if p.FirstName != "Ann" || p.Attributes["tier"] == nil {
		t.Error("Apply changed the profile it was given")
	}
	var got []string
	for _, ch := range changes {
		got = append(got, ch.Label+": "+ch.BeforeWords()+" → "+ch.AfterWords())
	}
	wantWords := []string{"First name: Ann → (empty)", "Sex: Female → Male", "Agreement: Wi-Fi: not given → given",
		"Attribute tier: gold → (removed)", "Attribute visits: 42 → 43", "Attribute size: (empty) → M"}
	if !reflect.DeepEqual(got, wantWords) {
		t.Errorf("words %q", got)
	}
	before, afterValues := AuditValues(changes)
	if before["firstName"] != "Ann" || afterValues["firstName"] != nil || afterValues["attributes.size"] != "M" {
		t.Errorf("audit values %v %v", before, afterValues)
	}
}

func TestMerge(t *testing.T) {
	p := testProfile()
	loaded := InfoOf(p)
	f := submit(p, func(v url.Values) {
		v.Set("firstName", "Anna")
		v.Set(AttributeField(row(v, "tier"), "value"), "silver")
		v.Set(AttributeField("6", "key"), "size")
		v.Set(AttributeField("6", "value"), "M")
	})
	p.FirstName, p.City = "Annie", "Sopot"
	p.Agreements.Email = true
	p.Attributes["tier"] = json.RawMessage(`"platinum"`)
	delete(p.Attributes, "visits")
	merged, conflicts := Merge(loaded, InfoOf(p), f)
	if merged.Fields["firstName"] != "Anna" || merged.Fields["city"] != "Sopot" || !merged.Agreements["email"] {
		t.Errorf("merged fields %v %v", merged.Fields, merged.Agreements)
	}
	last := merged.Attributes[len(merged.Attributes)-1]
	if last.Key != "size" || last.Value != "M" {
		t.Errorf("new row not kept: %+v", merged.Attributes)
	}
	want := []Conflict{
		{Label: "First name", Before: "Ann", After: "Annie", Yours: true},
		{Label: "City", Before: "Gdańsk", After: "Sopot"},
		{Label: "Agreement: E-mail", Before: "not given", After: "given"},
		{Label: "Attribute tier", Before: "gold", After: "platinum", Yours: true},
		{Label: "Attribute visits", Before: "42", After: "(absent)"},
	}
	if !reflect.DeepEqual(conflicts, want) {
		t.Errorf("conflicts %+v", conflicts)
	}
	for _, r := range merged.Attributes {
		if r.Orig == "tier" && r.Value != "silver" {
			t.Errorf("your tier edit lost: %+v", r)
		}
	}
}

// A text field the profile does not hold is shown as nothing, not as "(empty text)" (which
// is what an attribute set to "" reads as).
func TestUnsetFieldReadsAsNothing(t *testing.T) {
	for _, f := range Fields {
		if got := f.Words(""); got != "" {
			t.Errorf("%s: unset reads %q", f.Name, got)
		}
		if got := f.Words(nil); got != "(empty)" {
			t.Errorf("%s: a cleared value in a change reads %q", f.Name, got)
		}
	}
}

// A stored attribute's value before a change is kept as Synerise sent it: a null reads
// "(null)" as on the customer page, and a large number stays exact in the audit record.
func TestAttributeBeforeIsKeptAsSent(t *testing.T) {
	loaded := Info{Fields: map[string]string{}, Agreements: map[string]bool{}, Attributes: map[string]json.RawMessage{
		"lastStore": json.RawMessage(`null`), "points": json.RawMessage(`12345678901234567890`)}}
	f := FormOf(loaded)
	for i := range f.Attributes {
		switch f.Attributes[i].Orig {
		case "lastStore":
			f.Attributes[i].Value = "Gdynia"
		case "points":
			f.Attributes[i].Value = "12345678901234567891"
		}
	}
	changes, problems := Diff(loaded, f, Rules{Now: time.Now(), Text: func(string, int) string { return "" }})
	if len(problems) > 0 || len(changes) != 2 {
		t.Fatalf("changes %v problems %v", changes, problems)
	}
	before, _ := AuditValues(changes)
	b, _ := json.Marshal(before)
	if !strings.Contains(string(b), `"attributes.points":12345678901234567890`) || !strings.Contains(string(b), `"attributes.lastStore":null`) {
		t.Fatalf("audit before %s", b)
	}
	for _, ch := range changes {
		if ch.Path == "attributes.lastStore" && ch.BeforeWords() != "(null)" {
			t.Fatalf("null before reads %q", ch.BeforeWords())
		}
	}
}
