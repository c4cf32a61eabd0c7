// Package train is the training loop: it opens a run (package run: config, folder,
// checkpoints), builds the networks (package model) and feeds them batches (package data).
//
// An iteration runs NVlabs' phases (phases.go): Dmain, Dreg (lazy R1), Gmain, Greg (lazy path
// length), each a loss, a backward pass and an optimizer step, then the w_avg and EMA updates.
// The loss family (train.loss) is chosen once at open (loss.go); DiffAugment (augment.go)
// transforms what the critic sees. Data-parallel runs (dist.go) train each rank on its own rows
// of the global batch with every random draw made for the whole batch, so W processes compute
// what one does. Random state is a function of the seed and the step, so an interrupted run
// resumed from its checkpoint continues exactly.
package train
