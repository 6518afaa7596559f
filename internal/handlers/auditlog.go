package handlers

import "net/http"

// auditRoutes are the auditor workspace.
func (h *Handler) auditRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/audit", Roles: auditReads, handle: h.placeholder("Audit log", "The auditor workspace arrives with the audit issue.")},
	}
}
