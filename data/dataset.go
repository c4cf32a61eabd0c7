package data

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG decoding
	_ "image/png"  // register PNG decoding
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Dataset is a random-access collection of labelled images.
// Implementations must be safe for concurrent use by several goroutines.
type Dataset interface {
	// Len is the number of images.
	Len() int
	// Classes are the class names, indexed by label. A dataset without
	// classes has one class named "".
	Classes() []string
	// Label is the class index of image i, without decoding it.
	Label(i int) int
	// Load decodes image i and returns it with its class index.
	Load(i int) (image.Image, int, error)
	// Name identifies image i in messages (a file path or "file#record").
	Name(i int) string
}

// Splits are the split folder names recognised by OpenFolder, in the order
// they are listed.
var Splits = []string{"train", "test", "val", "valid", "validation"}

// IsImageFile reports whether name has an image extension the folder
// reader decodes (.jpg, .jpeg, .png, any case).
func IsImageFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// Folder is a dataset of image files in a folder tree (see OpenFolder).
type Folder struct {
	fsys    fs.FS
	origin  string // how the root is shown in messages
	root    string // root inside fsys
	split   string // split folder used, "" when the root has no splits
	classes []string
	empty   []string // class folders without images, paths inside fsys
	files   []string // paths inside fsys
	labels  []int
}

// OpenDir opens a folder dataset on disk. It is OpenFolder over os.DirFS(dir)
// with error messages that name dir.
func OpenDir(dir, split string) (*Folder, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: %s: no such folder (set data.root in the config to your dataset folder)", dir)
		}
		return nil, fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data: %s: not a folder (data.root must be a folder of images, of class folders, or of train/test split folders)", dir)
	}
	f, err := openFolder(os.DirFS(dir), ".", split, dir)
	return f, err
}

// OpenFolder opens the image files under root in fsys ("." for the top of
// fsys). Three layouts are recognised:
//
//	root/SPLIT/CLASS/...   split folders (train, test, ...) of class folders
//	root/CLASS/...         class folders, no split (split is ignored)
//	root/*.png             a flat folder: one class named ""
//
// A split folder may also hold images directly (one class named ""). Class
// folders are searched recursively; class names are the folder names,
// sorted. Files and folders whose names start with "." are ignored. split
// defaults to "train".
func OpenFolder(fsys fs.FS, root, split string) (*Folder, error) {
	return openFolder(fsys, root, split, root)
}

func openFolder(fsys fs.FS, root, split, origin string) (*Folder, error) {
	if split == "" {
		split = "train"
	}
	root = path.Clean(filepath.ToSlash(root))
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: %s: no such folder (set data.root in the config to your dataset folder)", origin)
		}
		return nil, fmt.Errorf("data: reading %s: %w", origin, err)
	}
	f := &Folder{fsys: fsys, origin: origin, root: root}
	base := root
	var haveSplits []string
	for _, s := range Splits {
		for _, e := range entries {
			if e.IsDir() && e.Name() == s {
				haveSplits = append(haveSplits, s)
			}
		}
	}
	if slices.Contains(haveSplits, split) {
		base = path.Join(root, split)
		f.split = split
	} else if len(haveSplits) > 0 {
		return nil, fmt.Errorf("data: %s: no %q split folder (found %s; choose one of those as the split)",
			origin, split, strings.Join(haveSplits, ", "))
	}
	if err := f.scan(base); err != nil {
		return nil, err
	}
	if len(f.files) == 0 {
		return nil, fmt.Errorf("data: %s: no .jpg, .jpeg or .png images found (expected %s/train/CLASS/*.png, %s/CLASS/*.png or a flat folder of images)",
			f.show(base), origin, origin)
	}
	return f, nil
}

// scan fills classes, files and labels from the folder base.
func (f *Folder) scan(base string) error {
	entries, err := fs.ReadDir(f.fsys, base)
	if err != nil {
		return fmt.Errorf("data: reading %s: %w", f.show(base), err)
	}
	var direct []string
	var classDirs []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.IsDir() {
			classDirs = append(classDirs, e.Name())
		} else if IsImageFile(e.Name()) {
			direct = append(direct, path.Join(base, e.Name()))
		}
	}
	slices.Sort(classDirs)
	type class struct {
		name  string
		files []string
	}
	var classes []class
	if len(direct) > 0 {
		classes = append(classes, class{"", direct})
	}
	for _, c := range classDirs {
		var files []string
		err := fs.WalkDir(f.fsys, path.Join(base, c), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != path.Join(base, c) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() && IsImageFile(d.Name()) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("data: reading %s: %w", f.show(path.Join(base, c)), err)
		}
		if len(files) > 0 {
			classes = append(classes, class{c, files})
		} else {
			f.empty = append(f.empty, path.Join(base, c))
		}
	}
	for label, c := range classes {
		slices.Sort(c.files)
		f.classes = append(f.classes, c.name)
		for _, p := range c.files {
			f.files = append(f.files, p)
			f.labels = append(f.labels, label)
		}
	}
	return nil
}

func (f *Folder) show(p string) string {
	if f.root != "." && f.root != "" {
		p = strings.TrimPrefix(strings.TrimPrefix(p, f.root), "/")
	}
	if p == "." || p == "" {
		return f.origin
	}
	return filepath.Join(f.origin, filepath.FromSlash(p))
}

// Len is the number of images.
func (f *Folder) Len() int { return len(f.files) }

// Classes are the class folder names, sorted.
func (f *Folder) Classes() []string { return f.classes }

// Label is the class index of image i.
func (f *Folder) Label(i int) int { return f.labels[i] }

// EmptyClasses are the class folders that hold no image, as shown in messages (sorted). Classes
// leaves them out, so with data.conditional they would silently change the class count: see
// CheckClasses.
func (f *Folder) EmptyClasses() []string {
	out := make([]string, len(f.empty))
	for i, p := range f.empty {
		out[i] = f.show(p)
	}
	return out
}

// CheckClasses checks the classes of a dataset about to be trained on. A class folder without
// images is an error naming it when conditional (the class count and labels come from the
// folders), and otherwise a warning ("" when there is none) for the caller to print.
func CheckClasses(ds Dataset, conditional bool) (warning string, err error) {
	f, ok := ds.(*Folder)
	if !ok || len(f.empty) == 0 {
		return "", nil
	}
	empty := f.EmptyClasses()
	if conditional {
		return "", fmt.Errorf("data: %s: class folder holds no .jpg, .jpeg or .png image, and data.conditional = true takes the classes from the folders (add images to it or remove it)", empty[0])
	}
	return fmt.Sprintf("data: ignoring %d class folder(s) without images: %s", len(empty), strings.Join(empty, ", ")), nil
}

// Split is the split folder in use, or "" when the root has no split folders.
func (f *Folder) Split() string { return f.split }

// Name is the path of image i as shown in messages.
func (f *Folder) Name(i int) string { return f.show(f.files[i]) }

// Path is the path of image i inside the folder's fs.FS.
func (f *Folder) Path(i int) string { return f.files[i] }

// FS is the file system the folder reads from.
func (f *Folder) FS() fs.FS { return f.fsys }

// Load decodes image i.
func (f *Folder) Load(i int) (image.Image, int, error) {
	r, err := f.fsys.Open(f.files[i])
	if err != nil {
		return nil, 0, fmt.Errorf("data: %s: %w", f.Name(i), err)
	}
	defer r.Close()
	img, _, err := DecodeImage(r)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %s: %s (%s)", f.Name(i), imageErr(err), badFileHint)
	}
	return img, f.labels[i], nil
}

// Config reads the size and colour model of image i without decoding it.
func (f *Folder) Config(i int) (image.Config, error) {
	r, err := f.fsys.Open(f.files[i])
	if err != nil {
		return image.Config{}, fmt.Errorf("data: %s: %w", f.Name(i), err)
	}
	defer r.Close()
	cfg, _, err := DecodeImageConfig(r)
	if err != nil {
		return cfg, fmt.Errorf("data: %s: %s (%s)", f.Name(i), imageErr(err), badFileHint)
	}
	return cfg, nil
}

const badFileHint = "fix or remove the file, or set data.skip_bad to skip bad files"

// imageErr says what is wrong with an image file: a limit it exceeds, or that it cannot be
// decoded and why.
func imageErr(err error) string {
	var le *LimitError
	if errors.As(err, &le) {
		return le.Error()
	}
	return "cannot decode image: " + err.Error()
}
