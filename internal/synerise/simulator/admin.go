package simulator

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// serveAdmin serves the simulator-only /_simulator/ endpoints (see the package doc).
func (s *Simulator) serveAdmin(w http.ResponseWriter, r *http.Request, segs []string) {
	req := &request{w: w, r: r, route: "admin"}
	p := strings.Join(segs, "/")
	switch {
	case p == "outbox" && r.Method == http.MethodGet:
		if email := r.URL.Query().Get("email"); email != "" {
			writeJSON(w, http.StatusOK, nonNil(s.OutboxFor(email)))
			return
		}
		writeJSON(w, http.StatusOK, nonNil(s.Outbox()))
	case p == "outbox" && r.Method == http.MethodDelete:
		s.ClearOutbox()
		w.WriteHeader(http.StatusNoContent)
	case p == "settings" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Settings())
	case p == "faults" && r.Method == http.MethodGet:
		out := []faultWire{}
		faults := s.Faults()
		for _, route := range slices.Sorted(maps.Keys(faults)) {
			out = append(out, wireOf(route, faults[route]))
		}
		writeJSON(w, http.StatusOK, out)
	case p == "faults" && r.Method == http.MethodPost:
		s.adminSetFault(req)
	case p == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case p == "requests" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.RequestCounts())
	case p == "executed" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.ExecutedCounts())
	case p == "tokens/rejected" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.TokenRejections())
	case p == "requests" && r.Method == http.MethodDelete:
		s.ResetRequestCounts()
		w.WriteHeader(http.StatusNoContent)
	case p == "tokens/revoke" && r.Method == http.MethodPost:
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	case p == "auth" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, authWire{ExpiredTokenStatus: s.ExpiredTokenStatus()})
	case p == "auth" && r.Method == http.MethodPost:
		s.adminSetAuth(req)
	case p == "examples" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Examples())
	case len(segs) == 2 && segs[0] == "accounts" && r.Method == http.MethodGet:
		id, err := strconv.ParseInt(segs[1], 10, 64)
		a, ok := s.Account(id)
		if err != nil || !ok {
			s.fail(req, http.StatusNotFound, "No such customer.", nil)
			return
		}
		writeJSON(w, http.StatusOK, a)
	default:
		s.fail(req, http.StatusNotFound, "No simulator endpoint "+r.Method+" "+r.URL.Path+".", nil)
	}
}

// decodeStrict reads a JSON object body into v, refusing unknown members;
// on failure it has answered 400 with what names the thing ("fault", "auth setting").
func (s *Simulator) decodeStrict(req *request, what string, v any) bool {
	obj, ok := s.readObject(req)
	if !ok {
		return false
	}
	b, _ := json.Marshal(obj)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.fail(req, http.StatusBadRequest, "Invalid "+what+": "+err.Error(), nil)
		return false
	}
	return true
}

// authWire is what GET and POST /_simulator/auth show and take.
type authWire struct {
	ExpiredTokenStatus int `json:"expiredTokenStatus"`
}

func (s *Simulator) adminSetAuth(req *request) {
	var aw authWire
	if !s.decodeStrict(req, "auth setting", &aw) {
		return
	}
	if err := s.SetExpiredTokenStatus(aw.ExpiredTokenStatus); err != nil {
		s.fail(req, http.StatusBadRequest, "Invalid auth setting.", []FieldError{{
			Code: CodeInvalid, Field: "expiredTokenStatus", Message: "must be 401 or 403", RejectedValue: aw.ExpiredTokenStatus,
		}})
		return
	}
	writeJSON(req.w, http.StatusOK, authWire{ExpiredTokenStatus: s.ExpiredTokenStatus()})
}

func (s *Simulator) adminSetFault(req *request) {
	var fw faultWire
	if !s.decodeStrict(req, "fault", &fw) {
		return
	}
	if errs := fw.problems(); len(errs) > 0 {
		s.fail(req, http.StatusBadRequest, "Invalid fault.", errs)
		return
	}
	if fw.Clear {
		s.ClearFault(fw.Route)
	} else {
		s.SetFault(fw.Route, fw.fault())
	}
	writeJSON(req.w, http.StatusOK, wireOf(fw.Route, fw.fault()))
}

func nonNil(m []Message) []Message {
	if m == nil {
		return []Message{}
	}
	return m
}
