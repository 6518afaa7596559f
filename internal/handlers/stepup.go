package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/session"
	"github.com/raas-console/console/web/templates"
)

// The fields a step-up prompt adds to the form it repeats; they never reach the handler.
const (
	stepUpPrefix       = "_step_up_"
	stepUpCodeField    = "_step_up_code"
	stepUpPasskeyField = "_step_up_passkey"
)

// requireStepUp asks, in place and without losing the form, for a second factor on a
// StepUp route when the last one is older than the step-up window. The prompt repeats
// every field that was sent and posts back to the same address; the handler runs only
// once a factor was proved, with the fields as first sent. A form's one-time token is
// claimed by the handler, which has not run yet, so the repeated token is still good.
func (h *Handler) requireStepUp(r Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if !r.StepUp {
			return next
		}
		return func(c echo.Context) error {
			op := currentOperator(c)
			if safeMethod(c.Request().Method) || op == nil {
				return next(c)
			}
			if _, err := c.FormParams(); err != nil {
				return err
			}
			need, fresh, err := h.stepUpNeeded(c, *op)
			if err != nil {
				return err
			}
			if !need || fresh {
				stripStepUpFields(c.Request())
				return next(c)
			}
			if h.sessionMethod(c) == methodSSO {
				h.recordDenied(c, r, "step-up required")
				return h.stepUpPrompt(c, r, *op, "")
			}
			return h.stepUpWithFactor(c, r, *op, next)
		}
	}
}

// stepUpNeeded decides whether op must prove a factor for a risky action, and whether
// the one they proved is recent enough. A single sign-on session is fresh while the
// provider's auth_time is within the window. A password or passkey session is fresh
// while the last second factor is. An operator with no second factor under a policy
// that does not require one is not asked: there is nothing to step up with, and asking
// would lock them out of the action (with the default policy for a real workspace,
// "all", everyone has one).
func (h *Handler) stepUpNeeded(c echo.Context, op operators.Operator) (need, fresh bool, err error) {
	if h.sessionMethod(c) == methodSSO {
		sess, err := h.Sessions.Get(c.Request(), h.Sessions.CookieName())
		if err != nil {
			return false, false, err
		}
		return true, h.recent(session.Time(sess.Values, session.AuthTimeKey)), nil
	}
	has, err := h.hasSecondFactor(c.Request().Context(), op.ID)
	if err != nil || !has {
		return false, false, err
	}
	return true, h.recent(h.factorAt(c)), nil
}

// recent reports whether at is within the step-up window (and not in the future).
func (h *Handler) recent(at time.Time) bool {
	if at.IsZero() {
		return false
	}
	age := h.Now().Sub(at)
	return age >= -time.Minute && age <= h.stepUpWindow()
}

// stepUpWithFactor checks the factor the prompt's form carries: a right one runs the
// action, a wrong one prompts again and counts against the lockout, none prompts.
func (h *Handler) stepUpWithFactor(c echo.Context, r Route, op operators.Operator, next echo.HandlerFunc) error {
	form := c.Request().PostForm
	code, assertion := form.Get(stepUpCodeField), form.Get(stepUpPasskeyField)
	if code == "" && assertion == "" {
		h.recordDenied(c, r, "step-up required")
		return h.stepUpPrompt(c, r, op, "")
	}
	chk := codeCheck{factor: factorPasskey}
	if assertion != "" {
		ok, err := h.passkeyStepUp(c, op, assertion)
		if err != nil {
			return err
		}
		if !ok {
			chk.reason = "wrong passkey"
		}
	} else {
		var err error
		if chk, err = h.checkCode(c.Request().Context(), op, code, h.Now()); err != nil {
			return err
		}
	}
	if err := h.recordCodeCheck(c, audit.ActionStepUp, op, chk, map[string]any{"path": c.Request().URL.Path, "route": r.Method + " " + r.Path}); err != nil {
		return err
	}
	if chk.reason != "" {
		return h.stepUpPrompt(c, r, op, stepUpRefusedWords(chk))
	}
	if err := h.factorProved(c); err != nil {
		return err
	}
	stripStepUpFields(c.Request())
	return next(c)
}

func stepUpRefusedWords(chk codeCheck) string {
	if chk.factor == factorPasskey {
		return "The passkey could not be checked. Try again, or use a code."
	}
	return codeRefusedWords(chk) + " Nothing was sent."
}

// stepUpPrompt answers a risky action with the step-up prompt: for htmx a dialog added
// to the page, whose form stays as typed; otherwise a page. msg is why the last try was
// refused, empty on the first prompt.
func (h *Handler) stepUpPrompt(c echo.Context, r Route, op operators.Operator, msg string) error {
	v := templates.StepUp{Action: c.Request().URL.RequestURI(), Hidden: stepUpHidden(c.Request().PostForm), Error: msg}
	if h.sessionMethod(c) == methodSSO {
		v.SSOName = "your identity provider"
		if h.SSO != nil {
			v.SSOName = h.SSO.Name()
		}
	} else if err := h.stepUpFactors(c, op, &v); err != nil {
		return err
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnauthorized
	}
	if isHTMX(c) {
		// The prompt goes at the end of the page; the form that asked stays as it was.
		c.Response().Header().Set("HX-Retarget", "body")
		c.Response().Header().Set("HX-Reswap", "beforeend")
		csrf, _ := c.Get(ctxCSRF).(string)
		return render(c, http.StatusOK, templates.StepUpDialog(csrf, v))
	}
	return render(c, status, templates.StepUpPage(h.page(c, "Confirm it is you"), v))
}

// stepUpFactors sets which factors the prompt offers op.
func (h *Handler) stepUpFactors(c echo.Context, op operators.Operator, v *templates.StepUp) error {
	var err error
	v.Code, v.Passkey, err = h.factorsOf(c.Request().Context(), op.ID)
	return err
}

// stepUpHidden are the fields of the action's form to repeat in the prompt, in a stable
// order and each value in the order sent: all but the CSRF token (the prompt carries a
// fresh one) and the prompt's own fields.
func stepUpHidden(form url.Values) []templates.HiddenValue {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != csrfField && !strings.HasPrefix(k, stepUpPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []templates.HiddenValue
	for _, k := range keys {
		for _, v := range form[k] {
			out = append(out, templates.HiddenValue{Name: k, Value: v})
		}
	}
	return out
}

// stripStepUpFields removes the prompt's fields, so the handler sees the form as its
// page sent it.
func stripStepUpFields(r *http.Request) {
	for _, vs := range []url.Values{r.Form, r.PostForm} {
		for k := range vs {
			if strings.HasPrefix(k, stepUpPrefix) {
				delete(vs, k)
			}
		}
	}
	if r.MultipartForm != nil {
		for k := range r.MultipartForm.Value {
			if strings.HasPrefix(k, stepUpPrefix) {
				delete(r.MultipartForm.Value, k)
			}
		}
	}
}
