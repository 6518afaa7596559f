// Package static holds the console's CSS, scripts and vendored htmx, embedded in the binary.
package static

import "embed"

// FS holds every static file, served under /static/.
//
//go:embed *.js *.css
var FS embed.FS
