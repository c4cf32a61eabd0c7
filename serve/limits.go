package serve

import "time"

// Bounds on what a request may ask for. A request beyond them is refused with HTTP 400 and a
// one-line message naming the bound.
const (
	MaxGrid             = 64        // images in one grid
	MaxSeed             = 1<<53 - 1 // largest seed: every seed up to it is exact in a JavaScript number
	MaxScale            = 8         // magnification of a downloaded image
	MaxInterpSeeds      = 8         // seeds one walk visits
	MaxInterpSteps      = 48        // frames between two seeds of a walk
	MaxPixels           = 1 << 26   // pixels of one response image, or of all frames of a GIF
	MaxUploadBytes      = 8 << 20   // size of an uploaded scan
	MaxUploadSide       = 4096      // width or height of an uploaded scan, in pixels
	MaxProjectSteps     = 1000      // optimization steps of one projection (NVlabs' default)
	DefaultProjectSteps = 200       // the page's default: a projection in seconds to a minute on a CPU
	MaxProjections      = 2         // projections queued or running at once
)

// Internal sizes.
const (
	maxQueue        = 64               // libtorch jobs waiting; more get HTTP 503
	renderPixels    = 64 * 64 * 64     // pixels of one synthesis pass (64 images at 64x64, 4 at 256x256)
	cacheBytes      = 64 << 20         // rendered files kept
	keptProjections = 16               // finished projections the page can still show
	maxLossPoints   = 800              // points per loss curve sent to the page
	maxGridFile     = 64 << 20         // largest sample-grid file the live view serves
	formSlack       = 64 << 10         // multipart overhead and form fields beside the upload
	defaultPoll     = 2 * time.Second  // how often a run folder is checked
	shutdownWait    = 5 * time.Second  // how long Serve waits for requests in flight at the end
	gifDelay        = 8                // hundredths of a second per frame of a walk
	headerTimeout   = 10 * time.Second // to read a request's header
	uploadTimeout   = 2 * time.Minute  // to read a whole request (an upload on a slow link)
)
