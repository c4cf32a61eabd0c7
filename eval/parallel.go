package eval

import (
	"fmt"
	"runtime"
	"sync"
)

// parallelRows calls fn(i) for i in [0, n) on GOMAXPROCS goroutines. fn must write only its own
// row's outputs, so the result does not depend on scheduling. A panic in fn is raised again on
// the calling goroutine once the workers are done (see workerPanic).
func parallelRows(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wp workerPanic
	defer wp.repanic()
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer wp.capture()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// workerPanic carries the first panic of worker goroutines to the goroutine that waits for them:
// a panic on a goroutine of its own would end the process with a trace, where one on the
// command's goroutine becomes sgan's one-line internal error.
type workerPanic struct {
	mu  sync.Mutex
	val any
	set bool
}

// capture, deferred in a worker, records its panic and lets the worker end normally.
func (w *workerPanic) capture() {
	if r := recover(); r != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.set {
			w.val, w.set = r, true
		}
	}
}

// repanic, deferred by the waiting goroutine (so it runs after the wait), raises the recorded
// panic there.
func (w *workerPanic) repanic() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.set {
		panic(fmt.Sprintf("in a worker goroutine: %v", w.val))
	}
}
