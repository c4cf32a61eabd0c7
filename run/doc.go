// Package run is what a training run is, apart from the training itself: its configuration
// (each key declared once, with default, range and meaning; presets as data), its folder (config,
// checkpoints, sample grids, loss log, lock) and its checkpoint format. The trainer writes runs;
// sampling, evaluation and the CLI read them, without importing the trainer.
package run
