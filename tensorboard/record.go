package tensorboard

import (
	"encoding/binary"
	"hash/crc32"
)

// castagnoli is the CRC32C table TFRecord checksums use.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskDelta is TFRecord's mask constant.
const maskDelta = 0xa282ead8

// maskedCRC is TFRecord's masked CRC32C of b. Masking keeps a CRC computed over data that itself
// contains CRCs from being weak.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + maskDelta
}

// recordOverhead is the framing around a record's data: length, its CRC and the data's CRC.
const recordOverhead = 8 + 4 + 4

// appendRecord appends data framed as one TFRecord to b.
func appendRecord(b, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(data)))
	b = append(b, n[:]...)
	b = binary.LittleEndian.AppendUint32(b, maskedCRC(n[:]))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, maskedCRC(data))
}
