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
	case p == "requests" && r.Method == http.MethodDelete:
		s.ResetRequestCounts()
		w.WriteHeader(http.StatusNoContent)
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

func (s *Simulator) adminSetFault(req *request) {
	obj, ok := s.readObject(req)
	if !ok {
		return
	}
	b, _ := json.Marshal(obj)
	var fw faultWire
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fw); err != nil {
		s.fail(req, http.StatusBadRequest, "Invalid fault: "+err.Error(), nil)
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
