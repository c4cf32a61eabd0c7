// Package eval measures synthetic images against real ones: how good (fidelity), how diverse,
// how private (memorization) and how useful (downstream classification) they are. It backs
// `sgan eval`.
//
// Every metric takes image batches (Images: NCHW float32 in [-1, 1], the generator's range) or
// feature vectors (Features), never a model, so tests feed real, degraded or copied images
// directly. Everything is deterministic for a fixed seed.
//
// Files, one job each:
//
//	images.go   Images, the batch type; real.go loads a dataset split into one
//	swd.go      SWD: sliced Wasserstein distance on Laplacian-pyramid 7x7 patches (Karras et al. 2018)
//	featnet.go  Net: the small CNN whose features replace Inception's (classifier or autoencoder)
//	cache.go    content-keyed on-disk cache of trained feature nets (features-<hash>.pt)
//	frechet.go  Gaussian stats and the Fréchet distance (fd_domain); linalg.go the Jacobi eigen solver
//	kid.go      KID: unbiased cubic-kernel MMD^2 over subsets (kid_domain)
//	inception.go features of a user-supplied TorchScript extractor (--inception): fid and kid
//	prdc.go     precision / recall (k-NN manifolds, Kynkäänniemi et al. 2019), density / coverage
//	yardstick.go the precision of real images moved by 1 and 2 px: the scale precision is read on
//	nearest.go  nearest neighbours (libtorch matmul, exact float64 distance of the winner)
//	copying.go  memorization: NN distances, the data-copying test, Meehan et al.'s Z_U
//	utility.go  train-on-synthetic / test-on-real classification (conditional models)
//	generate.go sampling a checkpoint's generator into Images
//	run.go      Run: the whole evaluation of several checkpoints; report.go JSON, table, figure
//
// The feature space ("domain" features) is not Inception's: Inception weights are not available
// to this binding, so numbers are named fd_domain, kid_domain, ... and are comparable only
// between runs that share the feature net, which the cache guarantees for the same data,
// resolution and recipe. The net always runs on the CPU. With Options.Inception (a TorchScript
// file, run on Options.Device), fid and kid are added in that module's features: the standard
// FID/KID when it is the standard Inception-v3 pool-feature extractor.
package eval
