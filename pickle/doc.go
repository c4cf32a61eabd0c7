// Package pickle reads Python pickles and PyTorch files in pure Go, safely: nothing in a file is
// ever run, and no file, however crafted, can make the reader panic, recurse without bound, run
// for long or allocate much more than the file's size.
//
// What it reads:
//   - Unpickle: one pickle of protocols 2 to 5 (the binary opcodes; text-only protocol 0 opcodes
//     and out-of-band buffers are refused). Globals (classes and functions the pickle names) are
//     resolved through an allow-list of Go functions, Globals: a name not on it is refused with a
//     *ForbiddenError ("the pickle calls os.system; sgan never runs code from files").
//   - ReadTorch, ReadTorchZip, ReadTorchLegacy: torch.save files, zip or legacy, with tensors as
//     *Tensor (dtype, shape, stride, offset and little-endian bytes over a *Storage).
//   - ReadNetworkSnapshot: NVlabs' network pickles (network-snapshot-*.pkl of stylegan2-ada-pytorch
//     and stylegan3), each network as its class name, constructor arguments and state dict.
//   - ToPlain and Flatten turn what was read into plain Go values or a flat key -> value list.
//
// Safety. The pickle VM is a loop over the input with no recursion; each opcode does work bounded
// by its own bytes or by a limit, so unpickling is linear in the input. The values it builds may
// share sub-values and even contain themselves, as Python's may; every walk of them in this
// package bounds its depth (MaxDepth), counts the entries it visits (MaxItems) and reports cycles.
// Sizes a file declares (string lengths, tensor shapes, zip entry sizes, storage element counts)
// are checked against what the file holds and against the limits in limits.go before anything is
// allocated for them. Tensors are checked to lie inside their storages and to have no more elements
// than them (Tensor.Check). Errors are one line and name the limit (a *LimitError) or the place.
//
// Memory. Bytes the file stores as they are (torch.save's stored zip entries, BINBYTES) are
// returned as sub-slices of the input, not copied: treat every []byte and Storage.Data from this
// package as read-only.
package pickle
