package handlers

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
)

const (
	ctxOperator = "operator"
	ctxCSRF     = "csrf"
	csrfHeader  = "X-CSRF-Token"
	csrfField   = "_csrf"
)

// middleware is the list every request passes, in order.
func (h *Handler) middleware() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: h.logPanic}),
		h.assignRequestID,
		h.securityHeaders,
		h.accessLog,
		h.readBody,
		h.admit,
		h.csrf,
		h.loadOperator,
	}
}

func (h *Handler) logPanic(c echo.Context, err error, stack []byte) error {
	h.Logger.Error("panic", "err", err, "request_id", requestID(c), "stack", string(stack))
	return err
}

// securityHeaders sets the CSP and friends on every response, and no-store: pages carry
// customer data and the CSRF token, and must not be cached or shown by Back.
func (h *Handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if h.SecureCookies {
			hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		// Only a static file that exists replaces this with a cache lifetime (handleStatic):
		// a page, an error page or a missing file may carry the CSRF token.
		hd.Set("Cache-Control", "no-store")
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			hd.Set("Vary", "HX-Request, Cookie")
		}
		return next(c)
	}
}

// csrf refuses a state-changing request the browser marks cross-site (Sec-Fetch-Site) or
// whose Origin is foreign, with Go's http.CrossOriginProtection, and then requires the
// token Echo's CSRF middleware keeps in an HttpOnly, SameSite=Strict cookie back, as the
// _csrf form field or the X-CSRF-Token header.
func (h *Handler) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	name := "console_csrf"
	if h.SecureCookies {
		name = "__Host-console_csrf"
	}
	origins := http.NewCrossOriginProtection()
	tokens := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:" + csrfHeader + ",form:" + csrfField,
		ContextKey:     ctxCSRF,
		CookieName:     name,
		CookiePath:     "/",
		CookieSecure:   h.SecureCookies,
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteStrictMode,
		ErrorHandler:   func(error, echo.Context) error { return errCSRF },
	})
	return func(c echo.Context) error {
		r := c.Request()
		if err := origins.Check(r); err != nil {
			return errCrossSite
		}
		// Echo reuses whatever cookie it is sent, an empty one too, which an empty field
		// would match: an empty token is never one.
		if !safeMethod(r.Method) && r.Header.Get(csrfHeader) == "" && c.FormValue(csrfField) == "" {
			return errCSRF
		}
		// Echo's middleware would take a same-origin Sec-Fetch-Site in place of the token
		// and issue none; the origin is checked above, so it sees the request without the
		// header and always asks for the token. Handlers see the header again.
		site, hasSite := r.Header["Sec-Fetch-Site"]
		r.Header.Del("Sec-Fetch-Site")
		return tokens(func(c echo.Context) error {
			if hasSite {
				c.Request().Header["Sec-Fetch-Site"] = site
			}
			return next(c)
		})(c)
	}
}

// safeMethod reports whether a request of method changes nothing, so needs no token.
func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// loadOperator puts the signed-in operator in the context, as read with the session in one
// query. A session whose operator is gone, disabled or has another role than at sign-in is
// ended on the spot.
func (h *Handler) loadOperator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/static/") || c.Request().URL.Path == "/healthz" {
			return next(c)
		}
		sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
		if err != nil {
			return err
		}
		if _, ok := sess.Values[session.OperatorKey].(int64); !ok {
			return next(c)
		}
		op, ok := session.SignedIn(sess)
		role, _ := sess.Values["role"].(string)
		if !ok || op.Disabled || string(op.Role) != role {
			sess.Options.MaxAge = -1
			if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
				return err
			}
			return next(c)
		}
		c.Set(ctxOperator, &op)
		return next(c)
	}
}

// authorize enforces the route table: anonymous visitors go to sign-in, operators whose
// role the route does not name get 403, and the denial is audited.
func (h *Handler) authorize(r Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r.Public {
				return next(c)
			}
			op := currentOperator(c)
			if op == nil {
				return h.toSignIn(c)
			}
			if !r.Allows(op.Role) {
				h.recordDenied(c, r, "")
				return errForbidden
			}
			return next(c)
		}
	}
}

// toSignIn sends an anonymous visitor to the sign-in page: htmx gets HX-Redirect (never
// a sign-in form swapped into the page), a GET a redirect; both come back afterwards, htmx
// and a plain form post to the page they were sent from when that page is one a GET serves.
func (h *Handler) toSignIn(c echo.Context) error {
	if isHTMX(c) {
		target := "/login?expired=1"
		if u, err := url.Parse(c.Request().Header.Get("HX-Current-URL")); err == nil && u.Host == c.Request().Host && h.isPage(u.Path) {
			target += "&next=" + url.QueryEscape(u.Path)
		}
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	target := "/login"
	if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.Path)
	} else if page := h.formPage(c); page != "" {
		target += "?expired=1&next=" + url.QueryEscape(page)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// formPage is the page a form was posted from, when the browser says (Referer, sent to
// this origin only) and it is a page to come back to: after signing in again the operator
// lands on the form, where its draft is restored.
func (h *Handler) formPage(c echo.Context) string {
	u, err := url.Parse(c.Request().Referer())
	if err != nil || u.Host != c.Request().Host || u.Path == "/" || !h.isPage(u.Path) {
		return ""
	}
	return u.Path
}

// isPage reports whether a GET route that needs a sign-in serves path, so that signing
// in may return there.
func (h *Handler) isPage(path string) bool {
	return h.routeServes(http.MethodGet, path, func(r Route) bool { return !r.Public })
}

// routeServes reports whether a route of the table with method, and for which keep is
// true, serves path: its segments equal the pattern's, a ":param" matching any non-empty
// segment.
func (h *Handler) routeServes(method, path string, keep func(Route) bool) bool {
	segs := strings.Split(path, "/")
	for _, r := range h.routeIndex {
		if r.Method != method || !keep(r) {
			continue
		}
		if patternMatches(strings.Split(r.Path, "/"), segs) {
			return true
		}
	}
	return false
}

func patternMatches(pattern, segs []string) bool {
	if len(pattern) != len(segs) {
		return false
	}
	for i, p := range pattern {
		if p != segs[i] && (!strings.HasPrefix(p, ":") || segs[i] == "") {
			return false
		}
	}
	return true
}

func currentOperator(c echo.Context) *operators.Operator {
	op, _ := c.Get(ctxOperator).(*operators.Operator)
	return op
}

func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// event starts an audit event with who, from where and which request.
func (h *Handler) event(c echo.Context, action audit.Action, target audit.Target) audit.Event {
	e := audit.Event{
		Action:    action,
		Target:    target,
		RequestID: requestID(c),
		ClientIP:  c.RealIP(),
		UserAgent: c.Request().UserAgent(),
	}
	if op := currentOperator(c); op != nil {
		e.Actor = audit.Actor{OperatorID: op.ID, Email: op.Email, Role: string(op.Role)}
	}
	return e
}

// ipExtractor trusts X-Forwarded-For only from the configured proxies.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, ipnet, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(ipnet))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// recordDenied writes the audit row of a request refused on route r; why, when not empty,
// says why beyond the role.
func (h *Handler) recordDenied(c echo.Context, r Route, why string) {
	e := h.event(c, audit.ActionAccessDenied, audit.Target{Type: "route", ID: r.Method + " " + r.Path})
	e.Outcome = audit.OutcomeDenied
	detail := map[string]string{"path": c.Request().URL.Path}
	if why != "" {
		detail["reason"] = why
	}
	e.Detail = audit.DetailJSON(detail)
	if _, err := h.Audit.Append(c.Request().Context(), e); err != nil {
		h.Logger.Error("audit denied access", "err", err, "request_id", requestID(c))
	}
}
