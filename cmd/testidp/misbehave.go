package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// modes are the ways the next ID tokens can be wrong, each one thing a client must refuse.
var modes = map[string]func(claims map[string]any){
	"none": nil,
	"wrong-audience": func(c map[string]any) {
		c["aud"] = []string{"another-client"}
		c["azp"] = "another-client"
		delete(c, "client_id")
	},
	"expired": func(c map[string]any) {
		now := time.Now()
		c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	},
	"nonce-mismatch": func(c map[string]any) { c["nonce"] = "not-the-nonce-of-this-sign-in" },
	"no-email":       func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") },
	// stale-auth-time claims the user authenticated an hour ago, as a provider that
	// ignores max_age would: the console's own step-up window must refuse it.
	"stale-auth-time": func(c map[string]any) { c["auth_time"] = time.Now().Add(-time.Hour).Unix() },
	// bad-signature signs with a key the JWKS never serves.
	"bad-signature": func(map[string]any) {},
}

// misbehave rewrites the ID token in the token endpoint's answer when a mode is set:
// the op signs a correct token, this changes its claims and signs it again.
func misbehave(store *storage, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode, key := store.misbehaviour()
		if mode == "none" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			if rewritten, err := rewriteTokenResponse(body, mode, key); err == nil {
				body = rewritten
			} else {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func rewriteTokenResponse(body []byte, mode string, key signingKey) ([]byte, error) {
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("token response: %w", err)
	}
	raw, _ := resp["id_token"].(string)
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("id token: %w", err)
	}
	var claims map[string]any
	// The token was signed by this process a moment ago.
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return nil, fmt.Errorf("id token claims: %w", err)
	}
	modes[mode](claims)
	if mode == "bad-signature" {
		if key, err = newSigningKey(); err != nil {
			return nil, err
		}
	}
	signed, err := sign(claims, key)
	if err != nil {
		return nil, err
	}
	resp["id_token"] = signed
	return json.Marshal(resp)
}

func sign(claims map[string]any, key signingKey) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key.key, KeyID: key.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return obj.CompactSerialize()
}
