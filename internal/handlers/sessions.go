package handlers

// sessionList lists and ends operators' sessions.
type sessionList interface{}

// sessionRoutes are the operator's own sessions page and the admin's "end all sessions".
func (h *Handler) sessionRoutes() []Route { return nil }
