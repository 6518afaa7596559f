package simulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// tokenClaims is the payload of a workspace JWT.
type tokenClaims struct {
	Sub string `json:"sub"`
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Rlm string `json:"rlm"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// issueToken signs a workspace JWT for the API key's workspace.
func (s *Simulator) issueToken(sub string) string {
	now := s.now()
	life := int64((s.lifetime + time.Second - 1) / time.Second)
	claims := tokenClaims{
		Sub: sub, Iss: "Synerise", Aud: "API", Rlm: "profile",
		Iat: now.Unix(), Exp: now.Unix() + life, Jti: s.secrets.hex(12),
	}
	payload, _ := json.Marshal(claims)
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signing + "." + s.sign(signing)
}

func (s *Simulator) sign(signing string) string {
	return signWith(s.secret.Load(), signing)
}

func signWith(key *[]byte, signing string) string {
	m := hmac.New(sha256.New, *key)
	m.Write([]byte(signing))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newSigningKey() *[]byte {
	key := make([]byte, 32)
	rand.Read(key)
	return &key
}

// RevokeTokens makes every workspace token issued so far invalid, the way
// regenerating the API key or rotating the signing key in the Synerise app does:
// such tokens are answered 401 "Invalid token.", and a new login works at once.
func (s *Simulator) RevokeTokens() {
	s.secret.Store(newSigningKey())
	s.verified.Clear()
	s.verifiedN.Store(0)
}

// ExpiredTokenStatus is the status an expired token is answered with (401 or 403).
func (s *Simulator) ExpiredTokenStatus() int { return int(s.expiredStatus.Load()) }

// SetExpiredTokenStatus chooses how an expired token is answered: 401 with
// "error": "Token expired." (the default), or 403 with "error": "Forbidden",
// message "Token expired." and no "errors" list, as some workspaces do.
func (s *Simulator) SetExpiredTokenStatus(status int) error {
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		return fmt.Errorf("simulator: expired token status %d: must be 401 or 403", status)
	}
	s.expiredStatus.Store(int32(status))
	return nil
}

// tokenState is what a bearer token turned out to be.
type tokenState int

const (
	tokenInvalid tokenState = iota
	tokenExpired
	tokenValid
)

// verifiedToken is a token whose signature checked out with key.
type verifiedToken struct {
	claims tokenClaims
	key    *[]byte
}

// verifyToken checks the signature and expiry of a workspace JWT.
// Tokens whose signature checked out are remembered, so the HMAC runs once per token.
// An entry counts only while its key is the current one: a check that raced with
// RevokeTokens cannot bring a revoked token back.
func (s *Simulator) verifyToken(tok string) (tokenClaims, tokenState) {
	key := s.secret.Load()
	if v, ok := s.verified.Load(tok); ok && v.(verifiedToken).key == key {
		c := v.(verifiedToken).claims
		if s.now().Unix() >= c.Exp {
			return c, tokenExpired
		}
		return c, tokenValid
	}
	c, st := s.checkToken(key, tok)
	if st != tokenInvalid {
		if s.verifiedN.Add(1) > maxVerifiedTokens {
			s.verified.Clear()
			s.verifiedN.Store(0)
		}
		s.verified.Store(tok, verifiedToken{claims: c, key: key})
	}
	return c, st
}

const maxVerifiedTokens = 4096

func (s *Simulator) checkToken(key *[]byte, tok string) (tokenClaims, tokenState) {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return c, tokenInvalid
	}
	want := signWith(key, parts[0]+"."+parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return c, tokenInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, tokenInvalid
	}
	if s.now().Unix() >= c.Exp {
		return c, tokenExpired
	}
	return c, tokenValid
}

// workspaceSubject is the stable, non-secret subject of tokens issued for an API key.
func workspaceSubject(apiKey string) string {
	sum := sha256.Sum256([]byte("synerise-simulator-workspace:" + apiKey))
	return "workspace-" + hex.EncodeToString(sum[:8])
}

// authorize checks the bearer token; on failure it has answered 401
// (or 403 for an expired token when so configured).
func (s *Simulator) authorize(req *request) bool {
	h := req.r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		s.fail(req, http.StatusUnauthorized, "Full authentication is required to access this resource.", nil)
		return false
	}
	switch _, st := s.verifyToken(strings.TrimSpace(tok)); st {
	case tokenExpired:
		s.rejected[0].Add(1)
		if s.ExpiredTokenStatus() == http.StatusForbidden {
			// A 403 without field errors: the contract's sign of a rejected token.
			s.failBare(req, http.StatusForbidden, "Token expired.")
			return false
		}
		s.failWith(req, http.StatusUnauthorized, "Token expired.", "Token expired.", nil)
		return false
	case tokenInvalid:
		s.rejected[1].Add(1)
		s.failWith(req, http.StatusUnauthorized, "Invalid token.", "Invalid token.", nil)
		return false
	}
	return true
}

func (s *Simulator) handleLogin(req *request) {
	obj, err := decodeObject(req.r)
	if err != nil {
		s.fail(req, http.StatusBadRequest, err.Error(), nil)
		return
	}
	key, present, err := stringField(obj, "apiKey")
	if err != nil || !present || key == "" {
		s.fail(req, http.StatusBadRequest, "apiKey is required and must be a string.", nil)
		return
	}
	if !s.apiKeys[key] {
		s.fail(req, http.StatusUnauthorized, "Invalid API key.", nil)
		return
	}
	writeJSON(req.w, http.StatusOK, map[string]string{"token": s.issueToken(workspaceSubject(key))})
}

// handleRefresh runs after authorize, so the current token is valid.
func (s *Simulator) handleRefresh(req *request) {
	_, tok, _ := strings.Cut(req.r.Header.Get("Authorization"), " ")
	c, _ := s.verifyToken(strings.TrimSpace(tok))
	writeJSON(req.w, http.StatusOK, map[string]string{"token": s.issueToken(c.Sub)})
}
