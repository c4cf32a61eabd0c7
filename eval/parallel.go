package eval

import (
	"runtime"
	"sync"
)

// parallelRows calls fn(i) for i in [0, n) on GOMAXPROCS goroutines. fn must write only its own
// row's outputs, so the result does not depend on scheduling.
func parallelRows(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
