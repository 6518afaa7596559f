package main

import (
	"context"
	"io"

	"github.com/raas-console/console/internal/synerise/simulator"
)

// runSimulator runs `console simulator`: the built-in Synerise simulator, standalone.
func runSimulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return simulator.Main(ctx, args, stdout, stderr)
}
