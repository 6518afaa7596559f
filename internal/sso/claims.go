package sso

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// identity reads the claims the console uses from a verified ID token.
func (p *Provider) identity(idt *oidc.IDToken) (Identity, error) {
	var c map[string]json.RawMessage
	if err := idt.Claims(&c); err != nil {
		return Identity{}, invalid("the ID token's claims cannot be read", err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	id.Email = stringClaim(c["email"])
	if id.Email == "" {
		return Identity{}, invalid("the ID token has no e-mail address", nil)
	}
	verified, present := boolClaim(c["email_verified"])
	if present && !verified {
		return Identity{}, invalid("the provider has not verified this e-mail address", nil)
	}
	id.EmailVerified = verified
	id.Name = stringClaim(c["name"])
	var err error
	if id.Groups, err = listClaim(c[p.cfg.RolesClaim]); err != nil {
		return Identity{}, invalid(fmt.Sprintf("the ID token's %q claim is neither a list nor text", p.cfg.RolesClaim), err)
	}
	if id.AMR, err = listClaim(c["amr"]); err != nil {
		return Identity{}, invalid("the ID token's amr claim is not a list", err)
	}
	id.AuthTime = timeClaim(c["auth_time"])
	return id, nil
}

func stringClaim(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// boolClaim reads true/false, also written as a string as some providers do.
func boolClaim(raw json.RawMessage) (value, present bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, false
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	s, err := strconv.ParseBool(stringClaim(raw))
	return s && err == nil, true
}

// listClaim reads an array of strings, or one string of names separated by spaces or
// commas; a missing claim is an empty list.
func listClaim(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("want strings, got %.40s", raw)
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }), nil
}

// timeClaim reads seconds since the epoch (an integer or a float); zero when absent.
func timeClaim(raw json.RawMessage) time.Time {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
