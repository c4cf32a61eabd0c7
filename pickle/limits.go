package pickle

import "fmt"

// Limits. A hostile file must not make the reader run out of memory, overflow its stack or run
// for long, so every size, count and depth a file declares is checked against one of these before
// anything is allocated for it. They are policy, sized far above any real file: a full-width
// StyleGAN2 checkpoint with optimizer state is about 1 GB in a few thousand tensors and pickle
// items, nested a few dozen containers deep.
const (
	// MaxDepth bounds the nesting of containers (dicts, lists, tuples, sets, objects, modules)
	// in any walk of a value, and in the keys of dicts. Python's own recursion limit (1000) keeps
	// every pickle that Python can write below it.
	MaxDepth = 1000

	// MaxItems bounds the container entries one unpickling may create, and the entries one
	// Flatten may visit (a dict shared by many others is visited once per reference, so this also
	// stops an exponential expansion of shared sub-dicts). A network pickle of NVlabs' holds a few
	// thousand.
	MaxItems = 1 << 20

	// MaxStack bounds the unpickler's stack and its marks together. Python's pickler batches the
	// items of a list or dict by the thousand, so real pickles need a few thousand slots per
	// level of nesting.
	MaxStack = 1 << 20

	// MaxKeyBytes bounds a dict key or set item: a str or bytes key, or the encoded form of a
	// tuple key. Every key is hashed each time it is used, so this bounds the work per dict entry
	// (a state dict's keys are a few dozen bytes).
	MaxKeyBytes = 1 << 10

	// MaxMemo bounds the pickle memo (objects kept for later reference) and its indices.
	MaxMemo = 1 << 20

	// MaxPathBytes bounds the bytes of all the key paths one Flatten makes ("G/mapping.fc0.weight"
	// and so on): shared sub-dicts under long keys could otherwise make many long paths.
	MaxPathBytes = 64 << 20

	// MaxLongBytes bounds the size of one Python integer (LONG1/LONG4), in bytes.
	MaxLongBytes = 1 << 10

	// MaxNameBytes bounds a module or class name in a GLOBAL opcode, and a text persistent id.
	MaxNameBytes = 1 << 10

	// MaxZipEntries bounds the entries of a torch.save zip file.
	MaxZipEntries = 1 << 20

	// MaxEntryBytes bounds one zip entry (its stored or inflated size): several times the
	// largest real checkpoint.
	MaxEntryBytes = 16 << 30

	// MaxInflateRatio and InflateSlack bound all the bytes inflated from a zip's compressed
	// entries together: at most MaxInflateRatio times the file's size plus InflateSlack. torch.save
	// writes its entries stored (uncompressed), which are read in place and never copied.
	MaxInflateRatio = 16
	InflateSlack    = 16 << 20

	// MaxTensorDims bounds a tensor's number of dimensions.
	MaxTensorDims = 64

	// MaxExpandedBytes bounds a tensor with more elements than its storage (an expanded view with
	// stride 0, as PyTorch saves autograd's gradient of a sum): what reading it costs is not in
	// the file. Views that fit their storage are bounded by the storage.
	MaxExpandedBytes = 16 << 20

	// MaxViewRatio and ViewSlack bound the bytes of all the tensors one walk hands out (Flatten,
	// the state dicts of ReadNetworkSnapshot): at most MaxViewRatio times the bytes of the
	// distinct storages they view, plus ViewSlack: many tensors may view one storage.
	MaxViewRatio = 4
	ViewSlack    = 64 << 20
)

// LimitError reports input that exceeds one of the package's limits.
type LimitError struct {
	What  string // what exceeded it, e.g. "nesting"
	Limit string // the constant's name, e.g. "MaxDepth"
	Value int64  // the constant's value
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s exceeds the limit pickle.%s = %d", e.What, e.Limit, e.Value)
}

func limitErr(what, limit string, value int64) error {
	return &LimitError{What: what, Limit: limit, Value: value}
}
