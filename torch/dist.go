package torch

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// BucketBytes is the size of the flat buffers that AllReduceMean and Broadcast pack tensors into
// (as DistributedDataParallel's default 25 MB buckets): one collective per bucket, not per tensor.
var BucketBytes int64 = 25 << 20

// ProcessGroup is one process's membership in a group of data-parallel processes
// (torch.distributed): a TCPStore rendezvous that rank 0 hosts, and a Gloo (CPU, any libtorch
// with c10d) or NCCL (CUDA builds, -tags cuda) backend. Every collective is waited on with the
// group's timeout, so a peer that died or hangs ends in an error naming this rank instead of a
// hang. Like all libtorch work, a group is used from one goroutine.
type ProcessGroup struct {
	h       C.sg_pg
	Backend string
	Rank    int
	World   int
	Timeout time.Duration
}

// NCCLAvailable reports whether this build has the NCCL backend (-tags cuda).
func NCCLAvailable() bool { return C.sg_pg_has_nccl() != 0 }

// NewProcessGroup joins the group: backend "gloo" or "nccl", the rendezvous at addr:port (rank 0
// listens there), this process's rank and the world size. It blocks until every rank has joined
// or timeout passes. c10d's TCPStore listens on every interface of rank 0's machine (it has no
// option to bind one address) and its traffic, like Gloo's, is unauthenticated: use it on a
// trusted private network, and NewLocalProcessGroup for the workers of one machine.
func NewProcessGroup(backend, addr string, port, rank, world int, timeout time.Duration) (*ProcessGroup, error) {
	return newProcessGroup(backend, addr, port, "", rank, world, timeout)
}

// NewLocalProcessGroup joins a group whose ranks all run on this machine and meet in storeFile
// (c10d's FileStore, as torch.distributed's file:// init): nothing listens on the network for
// the rendezvous, and Gloo's connections bind to 127.0.0.1. Every rank names the same file, which
// must not exist before the job (put it in a fresh private folder).
func NewLocalProcessGroup(backend, storeFile string, rank, world int, timeout time.Duration) (*ProcessGroup, error) {
	if storeFile == "" {
		return nil, fmt.Errorf("distributed: no rendezvous file")
	}
	return newProcessGroup(backend, "127.0.0.1", 0, storeFile, rank, world, timeout)
}

func newProcessGroup(backend, addr string, port int, storeFile string, rank, world int, timeout time.Duration) (*ProcessGroup, error) {
	var code C.int
	switch backend {
	case "gloo":
		code = 0
	case "nccl":
		code = 1
	default:
		return nil, fmt.Errorf("distributed: unknown backend %q (gloo or nccl)", backend)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("distributed: timeout %v must be positive", timeout)
	}
	ch := C.CString(addr)
	defer C.free(unsafe.Pointer(ch))
	cf := C.CString(storeFile)
	defer C.free(unsafe.Pointer(cf))
	var h C.sg_pg
	if e := errOf("distributed "+backend, C.sg_pg_new(code, ch, C.int(port), cf, C.int(rank), C.int(world), C.int64_t(timeout.Milliseconds()), &h)); e != nil {
		return nil, e
	}
	return &ProcessGroup{h: h, Backend: backend, Rank: rank, World: world, Timeout: timeout}, nil
}

// nonNil drops nil entries (parameters without a gradient, say).
func nonNil(ts []*Tensor) []C.sg_tensor {
	hs := make([]C.sg_tensor, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			hs = append(hs, t.handle())
		}
	}
	return hs
}

func (pg *ProcessGroup) check() error {
	if pg == nil || pg.h == nil {
		return &Error{Op: "distributed", Msg: "process group is closed"}
	}
	return nil
}

// AllReduceMean replaces every tensor by its mean over the ranks, in place: packed into buckets
// of BucketBytes, summed by one allreduce per bucket (all in flight together), divided by the
// world size. Nil entries are skipped. The tensors must come in the same order, shapes and
// dtypes on every rank.
func (pg *ProcessGroup) AllReduceMean(ts []*Tensor) error {
	return pg.allReduce(ts, 1/float64(pg.World))
}

// AllReduceSum replaces every tensor by its sum over the ranks, in place, as AllReduceMean.
func (pg *ProcessGroup) AllReduceSum(ts []*Tensor) error { return pg.allReduce(ts, 1) }

func (pg *ProcessGroup) allReduce(ts []*Tensor, scale float64) error {
	if err := pg.check(); err != nil {
		return err
	}
	hs := nonNil(ts)
	if len(hs) == 0 {
		return nil
	}
	return errOrNil(errOf("allreduce", C.sg_pg_allreduce(pg.h, ptrH(hs), C.int(len(hs)), C.double(scale), C.int64_t(BucketBytes))))
}

// Broadcast overwrites every tensor with root's copy, in place and bucketed like AllReduceMean.
// Nil entries are skipped.
func (pg *ProcessGroup) Broadcast(ts []*Tensor, root int) error {
	if err := pg.check(); err != nil {
		return err
	}
	hs := nonNil(ts)
	if len(hs) == 0 {
		return nil
	}
	return errOrNil(errOf("broadcast", C.sg_pg_broadcast(pg.h, ptrH(hs), C.int(len(hs)), C.int(root), C.int64_t(BucketBytes))))
}

// Barrier returns once every rank has reached it (or fails after the timeout).
func (pg *ProcessGroup) Barrier() error {
	if err := pg.check(); err != nil {
		return err
	}
	return errOrNil(errOf("barrier", C.sg_pg_barrier(pg.h)))
}

// Close leaves the group. It is idempotent. After a failed collective the backend is abandoned
// rather than joined (its threads may still wait on the dead peer).
func (pg *ProcessGroup) Close() {
	if pg == nil || pg.h == nil {
		return
	}
	C.sg_pg_free(pg.h)
	pg.h = nil
}
