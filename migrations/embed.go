// Package migrations holds the console's goose SQL migrations, embedded in the binary.
package migrations

import "embed"

// FS holds every NNNNN_name.sql migration.
//
//go:embed *.sql
var FS embed.FS
