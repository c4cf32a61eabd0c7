// Package data reads training images for sgan and turns them into batches.
//
// It is pure Go: it imports no torch package and uses no cgo, so it builds
// and tests anywhere.
//
// # Datasets
//
// A Dataset is a random-access list of labelled images:
//
//   - Folder (OpenFolder on any fs.FS, OpenDir on a disk path): JPEG and PNG
//     files (.jpg .jpeg .png, any case, any size, gray or colour) in the ADNI
//     layout ROOT/{train,test}/CLASS/*, or ROOT/CLASS/* without splits, or a
//     flat folder of images (one class named ""). Class names are the folder
//     names, sorted; files are sorted by path.
//   - CIFAR10 (OpenCIFAR10): the CIFAR-10 binary release.
//   - Demo: the embedded Colin27 slices in data/demo, used when no dataset is
//     configured.
//
// Open(root, split) picks one of these from the trainer's data.root setting.
//
// # Volumes
//
// ReadNIfTIFile reads single-file NIfTI-1 volumes (.nii, .nii.gz; either byte
// order; uint8, int8, int16, uint16, int32, uint32, float32, float64; with
// scl_slope/scl_inter applied when the slope is nonzero; the affine from the
// sform, else the qform). ReadDICOMFolder reads uncompressed DICOM series
// (github.com/suyashkumar/dicom behind a structure check): slices sorted by
// position along the normal of ImageOrientationPatient, geometry from
// ImagePositionPatient/ImageOrientationPatient/PixelSpacing (LPS, converted
// to RAS), RescaleSlope/Intercept, BitsStored and sign applied. Both are
// bounded against hostile files (MaxVolumeVoxels, MaxNIfTIExtension,
// MaxDICOMFileBytes, MaxDICOMSide, MaxDICOMNesting, MaxSeriesFiles): a
// header declaring too much is a one-line error before any allocation.
//
// Canonical turns any volume into the RAS frame (voxel axes permuted and
// flipped to the nearest world axes, read from the affine; no resampling),
// so the same anatomy gives the same slices whatever its storage. Slices are
// cut in a plane (Axial, Coronal, Sagittal) with square pixels in mm:
// axial with anterior at the top and the subject's right on the image's
// right (neurological convention), coronal with superior at the top and
// right on the right, sagittal with superior at the top and anterior on the
// left. Each volume is windowed by percentiles of its nonzero voxels.
//
// AxialSlices and SliceVolumes cut NIfTI volumes into 8-bit axial PNGs
// (`sgan data slice`, one class, a per-slice split). Build (`sgan data
// build`) turns a folder of subjects (DICOM series and NIfTI files) and a
// diagnosis CSV into a dataset in the ADNI layout with a subject-disjoint,
// class-stratified split and a dataset.json Manifest; SubjectLeaks checks a
// dataset's folders against its manifest.
//
// # Loader
//
// A Loader turns a Dataset into batches (NCHW float32 in [-1, 1]):
//
//  1. decode; resize to Resolution x Resolution with Catmull-Rom
//     (antialiased; non-square images are stretched); convert to Channels
//     (1 = luminance, 3 = RGB). The result (8 bits per pixel) is cached in
//     memory when the whole dataset fits in CacheBytes (default 1 GiB).
//  2. optional Augment (small rotation, brightness, contrast; off by default),
//     horizontal flip with p = 0.5 when HFlip, then pixel/127.5 - 1.
//
// Rules the trainer can rely on:
//
//   - The order of an epoch is a permutation drawn from (Seed, epoch) only
//     (identity with NoShuffle). Each image's random flip and augmentation
//     are drawn from (Seed, epoch, image index) only. So batch k of an epoch
//     is the same whatever the worker count, scheduling, cache state, or the
//     batch the epoch was started at: Epoch(ctx, e, k) yields exactly the
//     batches k, k+1, … of Epoch(ctx, e, 0), which makes resume exact.
//   - The last partial batch is dropped: BatchesPerEpoch = Len / BatchSize.
//   - Batches are made by Workers goroutines, at most Prefetch ahead of the
//     consumer, and delivered in order. Iter.Close (or cancelling the
//     context) stops and waits for them; breaking out of a Batches range
//     loop does the same.
//   - A bad image is an error naming the file, unless SkipBad: then it is
//     replaced by the next good image of the epoch order and counted in
//     Skipped (deterministic, since whether a file is bad does not change).
//
// Usage:
//
//	ds, err := data.Open(cfg.Root, "train")
//	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 32, Resolution: 64, Channels: 1, HFlip: true, Seed: seed})
//	it := l.Epoch(ctx, epoch, startBatch)
//	defer it.Close()
//	for {
//		b, err := it.Next() // io.EOF after the last batch
//		...
//	}
//
// Loader.Make(ctx, epoch, k) builds batch k alone, synchronously; it equals
// batch k of Epoch. Loader.Batches is the same as Epoch as a range-over-func
// iterator.
//
// Errors start with "data:", name the file or folder involved, and say what
// to do about it.
package data
