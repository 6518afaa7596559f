package handlers

import "net/http"

// customerRoutes are the support workflows.
func (h *Handler) customerRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/customers", Roles: support, handle: h.placeholder("Customers", "Customer search arrives with the support workflows.")},
	}
}
