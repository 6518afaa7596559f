package password

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	for _, pw := range []string{"correct-battery-horse-9", "zażółć gęślą jaźń 🐧 пароль", strings.Repeat("long-", 50)} {
		h, err := Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash %q does not use argon2id with the expected parameters", h)
		}
		if !Verify(pw, h) {
			t.Fatalf("Verify(%q) = false for its own hash", pw)
		}
		if Verify(pw+"x", h) {
			t.Fatalf("Verify accepted a different password")
		}
	}
	if Verify("x", "$argon2id$garbage") {
		t.Fatal("malformed hash verified")
	}
}

func TestPolicy(t *testing.T) {
	p := NewPolicy()
	tests := []struct {
		pw, want string
	}{
		{"short", "at least 12"},
		{"Password1234", "too common"},
		{"qwertyuiop123", "too common"},
		{"aaaaaaaaaaaab", "too few different"},
		{"annasmith-rocks-2026", "e-mail"},
		{strings.Repeat("ab1", 90), "at most 256"},
		{"bad\x00password-here", "NUL"},
		{"\xffinvalid-utf8-here", "UTF-8"},
	}
	for _, tt := range tests {
		err := p.Check(tt.pw, "annasmith@example.com")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%q) = %v, want %q", tt.pw, err, tt.want)
		}
	}
	for _, ok := range []string{"river-lamp-ocean-42", "zażółć gęślą jaźń"} {
		if err := p.Check(ok, "annasmith@example.com"); err != nil {
			t.Errorf("Check(%q) = %v, want nil", ok, err)
		}
	}
	g, err := Generate()
	if err != nil || p.Check(g, "admin@example.com") != nil {
		t.Fatalf("generated password %q fails the policy: %v", g, err)
	}
}
