// Package tensorboard writes TensorFlow event files that TensorBoard reads (`tensorboard --logdir
// runs`): scalars and images, without TensorFlow, Python or a protobuf library.
//
// Rules of the package:
//   - Pure Go, standard library only. The few protobuf messages involved (Event, Summary,
//     Summary.Value, Summary.Image, SessionLog; field numbers from TensorBoard's
//     tensorboard/compat/proto/event.proto and summary.proto) are encoded by hand in proto.go.
//   - File format: TFRecord framing (record.go). Each record is the data length as a little-endian
//     uint64, the masked CRC32C (Castagnoli) of those 8 bytes, the data, and the masked CRC32C of
//     the data; mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8. The first record of every file is
//     an Event with file_version "brain.Event:2".
//   - One file per Writer, named events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> like
//     PyTorch's SummaryWriter, created exclusively: a resumed run starts a new file in the same
//     folder, as TensorFlow does, and TensorBoard reads the folder's files in name order.
//     PurgeFrom(step) asks TensorBoard to drop what earlier files logged at or after step.
//   - Records are buffered in memory and reach the file whole: on Flush (which also fsyncs), or
//     when more than a megabyte is pending. The file therefore always ends at a record boundary,
//     except when the process dies in the middle of a write, which leaves a torn last record that
//     TensorBoard's reader tolerates. A failed write (disk full) is cut back to the last whole
//     record, its records stay pending for the next Flush, and the error comes back from Flush or
//     Close, naming the file.
//   - Scalar and Scalars never fail; their errors surface at the next Flush. Values are stored as
//     float32 (simple_value), as TensorBoard does. Images are PNG-encoded: *image.Gray and
//     *image.Gray16 as grayscale (colorspace 1), other opaque images as RGB (3), the rest as RGBA (4).
//   - A Writer is safe for concurrent use. A nil *Writer logs nothing and never fails.
package tensorboard
