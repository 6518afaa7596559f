package session

import (
	"net/http"

	"github.com/gorilla/securecookie"
)

// HasSignedCookie reports whether the request carries a session cookie this store signed
// (and whose signature has not aged out), without asking the database whether the session
// is still alive. It is cheap enough to decide, before any work is done, whether a request
// comes from someone who signed in: only a sign-in hands out such a cookie.
func (s *Store) HasSignedCookie(r *http.Request) bool {
	c, err := r.Cookie(s.CookieName())
	if err != nil {
		return false
	}
	var id string
	return securecookie.DecodeMulti(s.CookieName(), c.Value, &id, s.codecs...) == nil
}
