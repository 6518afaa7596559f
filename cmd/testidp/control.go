package main

import (
	"encoding/json"
	"net/http"
)

// control serves /_control/: test-only levers on the running provider.
type control struct{ store *storage }

func (c control) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_control/rotate-keys", c.rotateKeys)
	mux.HandleFunc("POST /_control/misbehave", c.misbehave)
	mux.HandleFunc("POST /_control/users", c.setUser)
}

// rotateKeys replaces the signing key; the old key leaves the JWKS at once.
func (c control) rotateKeys(w http.ResponseWriter, _ *http.Request) {
	k, err := newSigningKey()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	c.store.rotateKey(k)
	writeJSON(w, map[string]string{"kid": k.id})
}

// misbehave sets the mode for every ID token issued from now on, until mode=none.
func (c control) misbehave(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("mode")
	if _, ok := modes[mode]; !ok {
		http.Error(w, "unknown mode; want none, wrong-audience, expired, nonce-mismatch, no-email, bad-signature or stale-auth-time", http.StatusBadRequest)
		return
	}
	c.store.setMode(mode)
	writeJSON(w, map[string]string{"mode": mode})
}

// setUser adds or replaces a user (matched by e-mail), e.g. to change their groups.
func (c control) setUser(w http.ResponseWriter, r *http.Request) {
	var u user
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&u); err != nil {
		http.Error(w, "user: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := u.check(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.store.setUser(u)
	writeJSON(w, map[string]string{"subject": u.subject()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
