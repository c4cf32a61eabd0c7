// Command blasreport prints the BLAS library that libtorch loaded into its process
// (torch.BLASLibrary), for scripts/setup to check that the build uses an optimized BLAS. It links
// libtorch exactly as bin/sgan does, so the dynamic loader makes the same choice for both.
//
// It prints one line, torch.BLAS's String: e.g. "OpenBLAS (pthread) at
// /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"; the reference BLAS's starts with
// "reference BLAS".
package main

import (
	"fmt"

	"sgan/torch"
)

func main() {
	fmt.Println(torch.LoadedBLAS())
}
