package handlers

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/operators"
)

// Route is one entry of the route table: who may use it is decided here and nowhere
// else. A route that is not Public and names no roles is open to nobody.
type Route struct {
	Method string
	Path   string
	Public bool
	Roles  []operators.Role
	// StepUp routes need a second factor proved within the step-up window.
	StepUp bool
	handle echo.HandlerFunc
}

// Allows reports whether an operator with role may use the route.
func (r Route) Allows(role operators.Role) bool {
	return r.Public || slices.Contains(r.Roles, role)
}

var (
	anyone     = []operators.Role{operators.RoleSupport, operators.RoleAdmin, operators.RoleAuditor}
	support    = []operators.Role{operators.RoleSupport, operators.RoleAdmin}
	adminOnly  = []operators.Role{operators.RoleAdmin}
	auditReads = []operators.Role{operators.RoleAuditor, operators.RoleAdmin}
)

// Routes is the route table: the shared routes here, each screen area's in its file.
func (h *Handler) Routes() []Route {
	routes := []Route{
		{Method: http.MethodGet, Path: "/healthz", Public: true, handle: h.handleHealthz},
		{Method: http.MethodGet, Path: "/readyz", Public: true, handle: h.handleReadyz},
		{Method: http.MethodGet, Path: "/metrics", Public: true, handle: h.handleMetrics},
		{Method: http.MethodGet, Path: "/static/*", Public: true, handle: h.handleStatic},
		{Method: http.MethodGet, Path: "/login", Public: true, handle: h.handleLoginForm},
		{Method: http.MethodPost, Path: "/login", Public: true, handle: h.handleLogin},
		{Method: http.MethodPost, Path: "/logout", Roles: anyone, handle: h.handleLogout},

		{Method: http.MethodGet, Path: "/", Roles: anyone, handle: h.handleHome},

		{Method: http.MethodGet, Path: "/operators", Roles: adminOnly, handle: h.handleOperators},
		{Method: http.MethodPost, Path: "/operators", Roles: adminOnly, handle: h.handleOperatorCreate},
		{Method: http.MethodPost, Path: "/operators/:id/role", Roles: adminOnly, StepUp: true, handle: h.handleOperatorRole},
		{Method: http.MethodPost, Path: "/operators/:id/disabled", Roles: adminOnly, handle: h.handleOperatorDisabled},
		{Method: http.MethodPost, Path: "/operators/:id/password", Roles: adminOnly, StepUp: true, handle: h.handleOperatorPasswordReset},
	}
	routes = append(routes, h.passwordRoutes()...)
	routes = append(routes, h.ssoRoutes()...)
	routes = append(routes, h.mfaRoutes()...)
	routes = append(routes, h.passkeyRoutes()...)
	routes = append(routes, h.sessionRoutes()...)
	routes = append(routes, h.customerRoutes()...)
	routes = append(routes, h.settingsRoutes()...)
	routes = append(routes, h.auditRoutes()...)
	routes = append(routes, h.approvalRoutes()...)
	routes = append(routes, h.draftRoutes()...)
	return routes
}

// navItem is one main navigation entry; it shows only to roles its route allows. count,
// when set, is added to the label as "(N)".
type navItem struct {
	label, path string
	count       func(c echo.Context) int
}

// navLabel is the entry's text for the signed-in operator: "Approvals (2)".
func (h *Handler) navLabel(c echo.Context, n navItem) string {
	if n.count == nil {
		return n.label
	}
	return n.label + " (" + strconv.Itoa(n.count(c)) + ")"
}

// navItems are the main navigation entries, the sandbox outbox only in sandbox mode.
func (h *Handler) navItems() []navItem {
	items := []navItem{
		{label: "Customers", path: "/customers"},
		{label: "Settings", path: "/settings"},
		{label: "Audit log", path: "/audit"},
		{label: "Operators", path: "/operators"},
	}
	if h.Approvals != nil {
		items = append(items, navItem{label: "Approvals", path: "/approvals", count: h.approvalsWaiting})
	}
	if h.Outbox != nil {
		items = append(items, navItem{label: "Sandbox outbox", path: "/sandbox/outbox"})
	}
	return items
}

// Echo builds the server: middleware in order, then every route of the table.
func (h *Handler) Echo() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = ipExtractor(h.TrustedProxies)
	e.Use(h.middleware()...)
	for _, r := range h.Routes() {
		e.Add(r.Method, r.Path, r.handle, h.requireCurrentRole(r), h.requirePasswordChange(r), h.requireEnrolment(r),
			h.authorize(r), h.requireStepUp(r))
	}
	return e
}
