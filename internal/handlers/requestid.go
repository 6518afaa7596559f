package handlers

import (
	"net"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// ctxUpstreamRequestID holds the request id a trusted proxy sent, when it was well formed.
const ctxUpstreamRequestID = "upstream_request_id"

// maxUpstreamRequestID bounds the request id a trusted proxy may hand over.
const maxUpstreamRequestID = 64

// assignRequestID gives every request an id the console makes itself (128 random bits),
// sent back as X-Request-Id and used in the log, the audit log and error pages. A client's
// X-Request-Id is never used: it would let anyone write what they like into the audit log.
// Only from a configured trusted proxy is it kept, if short and plain, in a field of its own.
func (h *Handler) assignRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderXRequestID, newToken())
		if sent := c.Request().Header.Get(echo.HeaderXRequestID); sent != "" && h.fromTrustedProxy(c) && plainRequestID(sent) {
			c.Set(ctxUpstreamRequestID, sent)
		}
		return next(c)
	}
}

// plainRequestID reports whether id is at most 64 characters of [A-Za-z0-9._-].
func plainRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxUpstreamRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch ch := id[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '.', ch == '_', ch == '-':
		default:
			return false
		}
	}
	return true
}

// fromTrustedProxy reports whether the connection's peer is one of the configured proxies.
func (h *Handler) fromTrustedProxy(c echo.Context) bool {
	if len(h.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range h.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func upstreamRequestID(c echo.Context) string {
	id, _ := c.Get(ctxUpstreamRequestID).(string)
	return id
}
