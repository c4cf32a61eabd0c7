// Command sgan trains StyleGAN2 on brain MRI and samples, evaluates and benchmarks the result.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes: 1 for an error the user can act on (one line naming the file, key or limit), 2 for
// an internal error (a bug: one line to report).
const (
	exitError    = 1
	exitInternal = 2
)

// debugEnv set to 1 adds the stack trace of an internal error to its line.
const debugEnv = "SGAN_DEBUG"

// extraCommands are added to the command set; only tests add any (a command that panics).
var extraCommands []*cli.Command

func main() {
	// All libtorch work runs on this goroutine: keeping it on one OS thread lets OpenMP reuse one
	// warm thread team (measured: a demo training step took 1.5 s unlocked, 0.71 s locked).
	runtime.LockOSThread()
	os.Exit(runMain(os.Args, os.Stderr))
}

// runMain runs the command line args and returns the exit code. A panic anywhere on this
// goroutine (where all libtorch work runs) becomes one line on stderr, "sgan: internal error:
// ...; please report with this line", and exit code 2; the stack trace only with SGAN_DEBUG=1.
// Goroutines that may meet bad input (the data loader's workers, eval's) recover their own
// panics into errors, since no recover here can reach them.
func runMain(args []string, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			code = internalError(stderr, r, panicSite(), os.Getenv(debugEnv) == "1")
		}
	}()
	app := &cli.App{
		Name:    "sgan",
		Usage:   "StyleGAN2 for brain MRI, in Go over libtorch",
		Version: versionString(),
		// --set values such as train.schedule=[{epochs=1, lr=1e-4}] contain commas.
		DisableSliceFlagSeparator: true,
		Commands: append([]*cli.Command{
			trainCommand(),
			sampleCommand(),
			dataCommand(),
			configCommand(),
			evalCommand(),
			benchCommand(),
			convertCommand(),
			projectCommand(),
			serveCommand(),
		}, extraCommands...),
		// Errors are printed below, once, as one line.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(args); err != nil {
		fmt.Fprintln(stderr, "sgan:", oneLine(err.Error()))
		return exitError
	}
	return 0
}

// internalError writes the one line of a recovered panic (and, with trace, the stack) and
// returns the exit code.
func internalError(w io.Writer, r any, site string, trace bool) int {
	msg := oneLine(fmt.Sprint(r))
	if site != "" {
		msg += " (at " + site + ")"
	}
	fmt.Fprintf(w, "sgan: internal error: %s; please report with this line\n", msg)
	if trace {
		w.Write(debug.Stack())
	}
	return exitInternal
}

// panicSite names the function and line that panicked, for the report line: the first frame
// below the panic that is not in the Go runtime. It must be called from the deferred function.
func panicSite() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs) // skip Callers, panicSite and the deferred function
	frames := runtime.CallersFrames(pcs[:n])
	sawPanic := false
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "runtime.") {
			sawPanic = sawPanic || f.Function == "runtime.gopanic"
		} else if sawPanic {
			file := f.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				if j := strings.LastIndex(file[:i], "/"); j >= 0 {
					file = file[j+1:]
				}
			}
			return fmt.Sprintf("%s %s:%d", strings.TrimPrefix(f.Function, "sgan/"), file, f.Line)
		}
		if !more {
			return ""
		}
	}
}

// oneLine joins the lines of a message, so that every error is one line on the terminal.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
