package data

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
)

// Open opens the dataset named by root, the way the trainer's data.root
// setting is read:
//
//	"" or "demo"           the embedded Colin27 demo slices (Demo)
//	a CIFAR-10 bin folder  OpenCIFAR10 (split "test" reads test_batch.bin)
//	any other folder       OpenDir
//
// split defaults to "train".
func Open(root, split string) (Dataset, error) {
	if split == "" {
		split = "train"
	}
	switch {
	case root == "" || root == "demo":
		f, err := openFolder(Demo(), ".", split, "demo")
		if err != nil {
			return nil, err
		}
		return f, nil
	case IsCIFAR10Dir(root):
		if split != "train" && split != "test" {
			return nil, fmt.Errorf("data: %s: CIFAR-10 has splits train and test, not %q", root, split)
		}
		return OpenCIFAR10(root, split == "train")
	}
	f, err := OpenDir(root, split)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// FolderSplits lists the split folders (see Splits) present under root in fsys.
func FolderSplits(fsys fs.FS, root string) []string {
	var out []string
	for _, s := range Splits {
		if st, err := fs.Stat(fsys, path.Join(root, s)); err == nil && st.IsDir() {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}
