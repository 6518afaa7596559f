package handlers

// passwordPath is the page where an operator changes their password.
const passwordPath = "/password"
