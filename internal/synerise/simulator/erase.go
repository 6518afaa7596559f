package simulator

import (
	"net/http"
	"slices"
)

// handleProfileErase deletes a profile for good (GDPR art. 17):
// DELETE /v4/clients/{clientId} → 200, 404 when there is none. Afterwards every lookup
// of it answers 404 — by clientId, e-mail, customId and uuid — lists and filters leave it
// out, and its pending e-mailed tokens no longer work.
func (s *Simulator) handleProfileErase(req *request) {
	id, ok := s.parseClientID(req)
	if !ok {
		return
	}
	if !s.Erase(id) {
		s.fail(req, http.StatusNotFound, "Profile not found.", nil)
		return
	}
	req.w.WriteHeader(http.StatusOK)
}

// Erase deletes the customer with that clientId, as DELETE /v4/clients/{clientId} does,
// and reports whether there was one.
func (s *Simulator) Erase(clientID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byID[clientID]
	if c == nil {
		return false
	}
	s.unindex(c)
	delete(s.byID, clientID)
	s.customers = slices.DeleteFunc(s.customers, func(x *customer) bool { return x == c })
	for _, m := range []map[string]*pendingToken{s.resets, s.activates} {
		for tok, p := range m {
			if p.clientID == clientID {
				delete(m, tok)
			}
		}
	}
	c.changed()
	return true
}
