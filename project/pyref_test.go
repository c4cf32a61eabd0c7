package project

import (
	"testing"

	"sgan/internal/pyref"
	"sgan/torch"
)

// runPython runs PyTorch reference code on inputs (internal/pyref).
func runPython(t *testing.T, inputs map[string]*torch.Tensor, code string) *torch.Archive {
	t.Helper()
	return pyref.Run(t, inputs, "", code)
}
