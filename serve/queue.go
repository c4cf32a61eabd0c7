package serve

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// errBusy is returned when maxQueue requests are already waiting for the renderer.
var errBusy = fmt.Errorf("the renderer is busy (%d requests waiting): try again in a moment", maxQueue)

// errClosed is returned for work submitted to (or still waiting in) a closed queue.
var errClosed = errors.New("the server is shutting down")

// job is one piece of libtorch work.
type job struct {
	ctx   context.Context
	quick bool         // may run between the steps of a projection (renders; not model swaps)
	fn    func() error // runs on the queue's thread
	done  chan error   // receives fn's result (buffered); nil when nobody waits
}

// queue runs every piece of libtorch work of a server, one at a time, on one goroutine locked to
// its OS thread: libtorch's tensor scopes and grad mode are process-wide state of the torch
// package (see torch's doc), and one thread keeps one warm OpenMP team. Requests from any number
// of browser tabs wait in a bounded channel; a request whose client went away is skipped.
type queue struct {
	jobs     chan *job
	deferred []*job // non-quick jobs taken out of jobs while interleaving: run next (worker only)
	stop     chan struct{}
	stopped  chan struct{}
}

// newQueue starts the worker.
func newQueue() *queue {
	q := &queue{jobs: make(chan *job, maxQueue), stop: make(chan struct{}), stopped: make(chan struct{})}
	go q.loop()
	return q
}

func (q *queue) loop() {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	defer close(q.stopped)
	for {
		var j *job
		if len(q.deferred) > 0 {
			j, q.deferred = q.deferred[0], q.deferred[1:]
		} else {
			select {
			case j = <-q.jobs:
			case <-q.stop:
				return
			}
		}
		q.run(j)
	}
}

// run runs j unless its request was cancelled while it waited.
func (q *queue) run(j *job) {
	err := j.ctx.Err()
	if err == nil {
		err = safely(j.fn)
	}
	if j.done != nil {
		j.done <- err
	}
}

// safely turns a panic of fn into an error, so that one bad request cannot end the server.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn()
}

// enqueue adds j without blocking: errBusy when the queue is full.
func (q *queue) enqueue(j *job) error {
	select {
	case <-q.stop:
		return errClosed
	default:
	}
	select {
	case q.jobs <- j:
		return nil
	default:
		return errBusy
	}
}

// do runs fn on the queue's thread and waits for it. It returns early with ctx's error when the
// request is cancelled (fn is then skipped if it has not started).
func (q *queue) do(ctx context.Context, quick bool, fn func() error) error {
	j := &job{ctx: ctx, quick: quick, fn: fn, done: make(chan error, 1)}
	if err := q.enqueue(j); err != nil {
		return err
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-q.stopped:
		return errClosed
	}
}

// submit queues fn without waiting for it (projections, model reloads).
func (q *queue) submit(ctx context.Context, quick bool, fn func() error) error {
	return q.enqueue(&job{ctx: ctx, quick: quick, fn: fn})
}

// interleave runs the quick jobs waiting now; the others are set aside to run next. A long job
// (a projection) calls it between its steps, on the queue's thread, so that the page keeps
// rendering while it runs.
func (q *queue) interleave() {
	for {
		select {
		case j := <-q.jobs:
			if j.quick {
				q.run(j)
			} else {
				q.deferred = append(q.deferred, j)
			}
		default:
			return
		}
	}
}

// close stops the worker after the job it is running; waiting requests get errClosed.
func (q *queue) close() {
	select {
	case <-q.stop:
	default:
		close(q.stop)
	}
	<-q.stopped
}
