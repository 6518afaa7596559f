package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/web/templates"
)

// sessionsPath is the operator's own sessions page.
const sessionsPath = "/account/sessions"

// sessionList lists and ends operators' sessions; *session.Store is one.
type sessionList interface {
	// List returns the operator's active sessions, the most recently used first.
	List(ctx context.Context, operatorID int64) ([]session.Info, error)
	// End ends one active session of the operator; session.ErrNotFound when the operator
	// has none with that ref.
	End(ctx context.Context, operatorID, ref int64) (session.Info, error)
	// EndOthers ends every session of the operator but keep.
	EndOthers(ctx context.Context, operatorID, keep int64) ([]session.Info, error)
	// EndAll ends every session of the operator.
	EndAll(ctx context.Context, operatorID int64) ([]session.Info, error)
}

// sessionRoutes are the operator's own sessions page and the admin's "end all sessions".
func (h *Handler) sessionRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: sessionsPath, Roles: anyone, handle: h.handleSessions},
		{Method: http.MethodPost, Path: sessionsPath + "/others/end", Roles: anyone, handle: h.handleSessionsEndOthers},
		{Method: http.MethodPost, Path: sessionsPath + "/:ref/end", Roles: anyone, handle: h.handleSessionEnd},
		{Method: http.MethodPost, Path: "/operators/:id/sessions/end", Roles: adminOnly, handle: h.handleOperatorSessionsEnd},
	}
}

// activeSessions is where sessions are listed and ended: Deps.SessionList, else the
// session store itself, which is one.
func (h *Handler) activeSessions() sessionList {
	if h.SessionList != nil {
		return h.SessionList
	}
	return h.Sessions
}

// currentRef is the ref of the request's own session; 0 when it has none.
func (h *Handler) currentRef(c echo.Context) int64 {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return 0
	}
	ref, _ := session.Ref(sess)
	return ref
}

func (h *Handler) handleSessions(c echo.Context) error {
	op := currentOperator(c)
	list, err := h.activeSessions().List(c.Request().Context(), op.ID)
	if err != nil {
		return err
	}
	current := h.currentRef(c)
	v := templates.Sessions{}
	for _, s := range list {
		row := sessionRow(s)
		row.Current = s.Ref == current
		if row.Current {
			// The session in use comes first: it is the one the operator recognises.
			v.Rows = append([]templates.SessionRow{row}, v.Rows...)
			continue
		}
		v.Others++
		v.Rows = append(v.Rows, row)
	}
	return render(c, http.StatusOK, templates.SessionsPage(h.page(c, "Your sessions"), v))
}

// sessionRow is a session as the sessions page shows it.
func sessionRow(s session.Info) templates.SessionRow {
	return templates.SessionRow{
		Ref:       strconv.FormatInt(s.Ref, 10),
		Browser:   browserName(s.UserAgent),
		UserAgent: s.UserAgent,
		ClientIP:  orUnknown(s.ClientIP),
		Method:    methodWords(s.Method),
		Started:   s.CreatedAt.UTC().Format("2006-01-02 15:04"),
		LastSeen:  s.LastSeenAt.UTC().Format("2006-01-02 15:04"),
	}
}

// methodWords is how a session was signed in to, in words.
func methodWords(m string) string {
	switch m {
	case methodPassword:
		return "Password"
	case methodSSO:
		return "Single sign-on"
	case methodPasskey:
		return "Passkey"
	}
	return "Unknown"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// handleSessionEnd ends one of the operator's own sessions. A ref that is not one of
// their active sessions ends nothing, is recorded as a failed attempt and answers 404;
// ending the session in use signs the operator out.
func (h *Handler) handleSessionEnd(c echo.Context) error {
	op := currentOperator(c)
	ref, err := strconv.ParseInt(c.Param("ref"), 10, 64)
	if err != nil || ref <= 0 {
		return errNotFound
	}
	intent := h.event(c, audit.ActionSessionEnd, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	intent.Detail = audit.DetailJSON(map[string]int64{"ref": ref})
	var ended session.Info
	_, err = h.perform(c, consoleOperation(intent, func(ctx context.Context) (err error) {
		ended, err = h.activeSessions().End(ctx, op.ID, ref)
		return err
	}, func() []byte { return endedDetail([]session.Info{ended}) }))
	if errors.Is(err, session.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if ref == h.currentRef(c) {
		return h.handleLogoutAfterEnd(c)
	}
	return h.redirectWithFlash(c, sessionsPath, "success",
		"Session ended: "+browserName(ended.UserAgent)+" at "+orUnknown(ended.ClientIP)+". That browser must sign in again.")
}

// handleLogoutAfterEnd finishes ending the operator's own session in use: its cookie
// goes, and they land on the sign-in page.
func (h *Handler) handleLogoutAfterEnd(c echo.Context) error {
	sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
	if err != nil {
		return err
	}
	sess.Options.MaxAge = -1
	if err := h.Sessions.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", "/login?signed_out=1")
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// handleSessionsEndOthers ends every session of the operator but the one in use.
func (h *Handler) handleSessionsEndOthers(c echo.Context) error {
	op := currentOperator(c)
	current := h.currentRef(c)
	if current == 0 {
		return errNotFound
	}
	intent := h.event(c, audit.ActionSessionEnd, audit.Target{Type: "operator", ID: idString(op.ID), Label: op.Email})
	intent.Detail = audit.DetailJSON(map[string]any{"scope": "all other sessions", "kept_ref": current})
	var ended []session.Info
	if _, err := h.perform(c, consoleOperation(intent, func(ctx context.Context) (err error) {
		ended, err = h.activeSessions().EndOthers(ctx, op.ID, current)
		return err
	}, func() []byte { return endedDetail(ended) })); err != nil {
		return err
	}
	return h.redirectWithFlash(c, sessionsPath, "success", endedWords(len(ended))+" Those browsers must sign in again.")
}

// handleOperatorSessionsEnd is an admin ending every session of another operator.
func (h *Handler) handleOperatorSessionsEnd(c echo.Context) error {
	target, err := h.otherOperator(c, "To end your own sessions, use Your sessions ("+sessionsPath+") or sign out.")
	if err != nil {
		return err
	}
	intent := h.event(c, audit.ActionOperatorSessions, audit.Target{Type: "operator", ID: idString(target.ID), Label: target.Email})
	var ended []session.Info
	if _, err := h.perform(c, consoleOperation(intent, func(ctx context.Context) (err error) {
		ended, err = h.activeSessions().EndAll(ctx, target.ID)
		return err
	}, func() []byte { return endedDetail(ended) })); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/operators", "success", target.Email+": "+endedWords(len(ended)))
}

// endedDetail is what the audit log keeps of ended sessions: how many, and each one's ref,
// IP, browser and how it was signed in to — never its id.
func endedDetail(ended []session.Info) []byte {
	list := make([]map[string]any, 0, len(ended))
	for _, s := range ended {
		list = append(list, map[string]any{"ref": s.Ref, "client_ip": s.ClientIP,
			"browser": browserName(s.UserAgent), "method": s.Method,
			"started": s.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return audit.DetailJSON(map[string]any{"ended": len(ended), "ended_sessions": list})
}

// endedWords tells how many sessions ended.
func endedWords(n int) string {
	switch n {
	case 0:
		return "No active session to end."
	case 1:
		return "1 session ended."
	}
	return strconv.Itoa(n) + " sessions ended."
}

// browserName is a short readable name for a User-Agent, such as "Chrome 156 on Linux" or
// "Firefox on Windows": enough for an operator to recognise their own browsers. The full
// header is shown beside it; anything unrecognised reads "Unknown browser".
func browserName(ua string) string {
	name := "Unknown browser"
	for _, b := range knownBrowsers {
		if v, ok := productVersion(ua, b.token); ok {
			name = b.name
			if v != "" {
				name += " " + v
			}
			break
		}
	}
	for _, o := range knownSystems {
		if strings.Contains(ua, o.token) {
			return name + " on " + o.name
		}
	}
	return name
}

// knownBrowsers are User-Agent product tokens, most specific first: Edge and Opera also
// say Chrome, Chrome also says Safari.
var knownBrowsers = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"HeadlessChrome/", "Headless Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"CriOS/", "Chrome"},
	{"Version/", "Safari"}, {"curl/", "curl"},
}

// knownSystems are operating systems by a token of the User-Agent, most specific first:
// Android also says Linux, iOS says "like Mac OS X".
var knownSystems = []struct{ token, name string }{
	{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"CrOS", "ChromeOS"},
	{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
}

// productVersion finds token ("Chrome/") in ua and returns the major version after it.
func productVersion(ua, token string) (string, bool) {
	i := strings.Index(ua, token)
	if i < 0 {
		return "", false
	}
	rest := ua[i+len(token):]
	end := 0
	for end < len(rest) && end < 6 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	return rest[:end], true
}
