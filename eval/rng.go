package eval

import "math/rand/v2"

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Random streams: each metric draws from its own stream of the one seed, so adding a metric
// or changing one's sample count never shifts another's draws.
const (
	streamSWDDesc uint64 = iota + 1
	streamSWDDirs
	streamKID
	streamSubset
	streamFeatureTrain
	streamUtility
)

// newRNG is the deterministic random source of (seed, stream, sub).
func newRNG(seed, stream, sub uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(seed^mix64(stream)), mix64(sub+0x2545f4914f6cdd1d)))
}
