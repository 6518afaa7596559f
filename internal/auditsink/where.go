package auditsink

import "net/url"

// Where is the receiver of the webhook as it may be shown: the URL's host, without its
// path, query or user information, which may carry credentials.
func (w *Webhook) Where() string {
	u, err := url.Parse(w.opts.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Where is the syslog receiver's address.
func (s *Syslog) Where() string { return s.addr }

// Where is the receiver of the sink named name as it may be shown (never a secret);
// empty for a sink this shipper does not have.
func (s *Shipper) Where(name string) string {
	for _, sk := range s.sinks {
		if w, ok := sk.(interface{ Where() string }); ok && sk.Name() == name {
			return w.Where()
		}
	}
	return ""
}
