package handlers

import "net/http"

// settingsRoutes are the RaaS settings editor.
func (h *Handler) settingsRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/settings", Roles: adminOnly, handle: h.placeholder("RaaS settings", "The settings editor arrives with the settings issue.")},
	}
}
