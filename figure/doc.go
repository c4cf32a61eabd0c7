// Package figure turns generated images into the pictures researchers look
// at: sample grids, the style-mixing figure, memorization pairs, captions,
// and PNG / animated GIF files.
//
// Rules of the package:
//
//   - Pure Go: no cgo and no torch import. Tensors arrive as float32 slices
//     in NCHW layout, copied out of libtorch by the caller.
//   - Values are nominally in [-1, 1]. A value x maps to the 8-bit level
//     round((clamp(x, -1, 1)+1)*127.5), so -1 -> 0, 0 -> 128, 1 -> 255;
//     values outside [-1, 1] are clamped and NaN maps to 0.
//   - C = 1 gives *image.Gray (grayscale MRI), C = 3 gives *image.RGBA
//     (opaque). Compositions (Grid, StyleMix, Labeled, Pairs) stay
//     *image.Gray when every input is *image.Gray and the background is an
//     opaque gray, so grayscale figures are saved as 8-bit gray PNGs; they
//     are *image.RGBA otherwise. Results always have their origin at (0, 0).
//   - Cells of a grid are as large as the largest input; a smaller image
//     sits at the top-left of its cell, a nil image leaves its cell as
//     background.
//   - Shape mismatches in the inputs of the image builders (bad NCHW
//     arguments, a short slice, a ragged mixed matrix) are programming
//     errors and panic with a message starting "figure: ". The file
//     writers return errors, which name the path.
//   - SavePNG and SaveGIF write atomically: a temporary file in the
//     destination folder, fsync, rename over the destination, then fsync
//     of the folder. The folder is created if needed, and no temporary
//     file is left behind on failure. Files are created with mode 0644.
package figure
