package main

import (
	"context"
	"io"
)

func runSimulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return exitError{code: 2, msg: "console simulator: not available yet"}
}
