package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/web/templates"
)

// homeCards describe each area on the start page, shown to roles its route allows.
var homeCards = []templates.HomeCard{
	{Title: "Customers", Text: "Find a customer by e-mail, customId, uuid, clientId, phone or name; fix basic info; send a password reset or activation.", Href: "/customers"},
	{Title: "RaaS settings", Text: "Registration type, PIN rules, token lifetime and redirect link for the workspace.", Href: "/settings"},
	{Title: "Audit log", Text: "Every action taken in this console: search, export and verify integrity.", Href: "/audit"},
	{Title: "Operators", Text: "Who may use this console, and in which role.", Href: "/operators"},
}

func (h *Handler) handleHome(c echo.Context) error {
	op := currentOperator(c)
	var home templates.Home
	for _, card := range homeCards {
		if r, ok := h.routeFor(http.MethodGet, card.Href); ok && r.Allows(op.Role) {
			home.Cards = append(home.Cards, card)
		}
	}
	return render(c, http.StatusOK, templates.HomePage(h.page(c, "Home"), home))
}
