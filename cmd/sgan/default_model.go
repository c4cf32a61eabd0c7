package main

import (
	"fmt"
	"os"

	"sgan/builtin"
)

// checkpointOrBuiltin is the checkpoint a command was given, or, when none was, the built-in
// demo model's file; it says on stderr which model it uses in that case.
func checkpointOrBuiltin(ckpt string) (string, error) {
	if ckpt != "" {
		return ckpt, nil
	}
	path, info, err := builtin.Open()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "sgan: using %s; --ckpt names another\n", info)
	return path, nil
}
