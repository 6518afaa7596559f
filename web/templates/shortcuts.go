package templates

// customerSearchPath is the customer search page; the navigation lists it only for the
// operators who may search.
const customerSearchPath = "/customers"

// CustomerSearchHref is where the "/" shortcut takes the operator: the customer search,
// its box focused. It is "" for operators who may not search customers.
func (p Page) CustomerSearchHref() string {
	for _, n := range p.Nav {
		if n.Href == customerSearchPath {
			return customerSearchPath + "#customer-q"
		}
	}
	return ""
}
