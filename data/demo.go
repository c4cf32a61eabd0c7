package data

import (
	"embed"
	"io/fs"
)

//go:embed demo
var demoFS embed.FS

// Demo is the embedded demo dataset in the ADNI layout (train/NC/*.png,
// test/NC/*.png): 64x64 grayscale axial slices of the Colin27 (ch2, ch2better)
// T1 brain templates from Chris Rorden's MRIcron, made by
// scripts/make-demo-data. See data/demo/README.md for its source and licence.
// Open it with OpenFolder(Demo(), ".", "train") or Open("demo", "train").
func Demo() fs.FS {
	sub, err := fs.Sub(demoFS, "demo")
	if err != nil {
		panic(err) // "demo" is a valid path
	}
	return sub
}
