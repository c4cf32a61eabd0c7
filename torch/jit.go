package torch

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// Module is a TorchScript module (a torch.jit.script or torch.jit.trace result saved with
// .save()) loaded for inference. Like tensors, modules are used from one goroutine and released
// explicitly with Close.
type Module struct {
	h      C.sg_module
	path   string
	device Device
}

// LoadModule reads a TorchScript file onto d and puts it in eval mode. Errors are one line and
// name the path.
func LoadModule(path string, d Device) (*Module, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("torch: TorchScript module: %w", err)
	}
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	var h C.sg_module
	if e := C.sg_jit_load(cs, C.int(d.Type), C.int(d.Index), &h); e != nil {
		msg := oneLine(C.GoString(e))
		C.sg_free_err(e)
		return nil, fmt.Errorf("torch: %s is not a loadable TorchScript module (save one with torch.jit.script(m).save(path) or torch.jit.trace): %s", path, msg)
	}
	return &Module{h: h, path: path, device: d}, nil
}

// Forward runs the module's forward(x) without autograd, moving x to the module's device first.
// The result (in the current scope, on the module's device) is the output tensor, or the first
// element of a tuple or list output.
func (m *Module) Forward(x *Tensor) (*Tensor, error) {
	if m == nil || m.h == nil {
		return nil, fmt.Errorf("torch: forward of a closed TorchScript module")
	}
	var out C.sg_tensor
	if e := C.sg_jit_forward(m.h, x.handle(), &out); e != nil {
		shape := fmt.Sprint(x.Shape())
		msg := oneLine(C.GoString(e))
		C.sg_free_err(e)
		return nil, fmt.Errorf("torch: %s: forward of a %s %v input: %s", m.path, shape, x.DType(), msg)
	}
	return wrap(out), nil
}

// Path is the file the module was loaded from.
func (m *Module) Path() string { return m.path }

// Device is where the module's parameters live.
func (m *Module) Device() Device { return m.device }

// Close releases the module; it is idempotent.
func (m *Module) Close() {
	if m != nil && m.h != nil {
		C.sg_jit_free(m.h)
		m.h = nil
	}
}

// oneLine folds a libtorch message into one line. A TorchScript interpreter error quotes the
// module's source over many lines before the error itself; only its last line is kept.
func oneLine(s string) string {
	if strings.Contains(s, "Traceback of TorchScript") {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		s = lines[len(lines)-1]
	}
	return strings.Join(strings.Fields(s), " ")
}
