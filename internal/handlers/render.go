package handlers

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/web/templates"
)

// pageBufferSize is the room a page is rendered into before the buffer has to grow.
const pageBufferSize = 16 << 10

// render writes a templ component with a status: the one way handlers answer with HTML.
func render(c echo.Context, status int, comp templ.Component) error {
	// Most pages are 5–20 kB: one allocation instead of doubling from 64 bytes.
	buf := bytes.NewBuffer(make([]byte, 0, pageBufferSize))
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// page builds the layout's view model for the current request.
func (h *Handler) page(c echo.Context, title string) templates.Page {
	csrf, _ := c.Get(ctxCSRF).(string)
	p := templates.Page{Title: title, CSRF: csrf, Sandbox: h.Sandbox, RequestID: requestID(c)}
	op := currentOperator(c)
	if op == nil {
		return p
	}
	p.Operator = &templates.Operator{Name: op.Name, Email: op.Email, Role: string(op.Role)}
	path := c.Request().URL.Path
	for _, n := range h.navItems() {
		if r, ok := h.routeFor(http.MethodGet, n.path); ok && r.Allows(op.Role) {
			p.Nav = append(p.Nav, templates.NavItem{Label: h.navLabel(c, n), Href: n.path,
				Current: path == n.path || strings.HasPrefix(path, n.path+"/")})
		}
	}
	p.Flashes = h.takeFlashes(c)
	return p
}

// routeFor finds the route registered for method and path (a pattern, not a request path).
func (h *Handler) routeFor(method, path string) (Route, bool) {
	r, ok := h.routeIndex[method+" "+path]
	return r, ok
}

// flash keeps a message for the operator's next page.
func (h *Handler) flash(c echo.Context, kind, text string) {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil || sess.IsNew {
		return
	}
	sess.AddFlash(kind + "|" + text)
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		h.Logger.Error("save flash", "err", err, "request_id", requestID(c))
	}
}

func (h *Handler) takeFlashes(c echo.Context) []templates.Flash {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil || sess.IsNew {
		return nil
	}
	raw := sess.Flashes()
	if len(raw) == 0 {
		return nil
	}
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		h.Logger.Error("clear flashes", "err", err, "request_id", requestID(c))
	}
	out := make([]templates.Flash, 0, len(raw))
	for _, f := range raw {
		s, _ := f.(string)
		kind, text, ok := strings.Cut(s, "|")
		if !ok {
			kind, text = "info", s
		}
		out = append(out, templates.Flash{Kind: kind, Text: text})
	}
	return out
}

// redirectWithFlash ends a plain form post: flash, then See Other.
func (h *Handler) redirectWithFlash(c echo.Context, to, kind, text string) error {
	h.flash(c, kind, text)
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
