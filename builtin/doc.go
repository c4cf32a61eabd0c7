// Package builtin holds the model sgan renders when no checkpoint is named: the demo preset's EMA
// generator, trained on the embedded demo slices (data.Demo), embedded in the binary as
// builtin/demo.pt. `sgan sample` and `sgan serve` without --ckpt use it and print which model
// they used, so there is something to look at before any training.
//
// demo.pt is an ordinary sgan checkpoint (run.Checkpoint, format sgan-checkpoint-v2) that holds
// only the sampling generator, under "generator", with the run's config, class names and
// counters: no critic, optimizers or random state. Its weights are stored in float16, which
// halves the file; loading copies them into the float32 generator (model.Store.Load), so the
// network computes in float32 from weights rounded to 11 significant bits.
// scripts/make-builtin-model makes the file (Extract, through internal/mkbuiltin) from a
// training run and reports its size and how far its images are from the float32 weights'.
//
// Code that reads checkpoints from files gets the model through Path, which writes the embedded
// bytes once to the user's cache folder.
package builtin
