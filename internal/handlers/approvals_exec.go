package handlers

// executors are the ways approved requests are carried out, by kind of change.
func (h *Handler) executors() map[string]approvalExecutor {
	return map[string]approvalExecutor{}
}
