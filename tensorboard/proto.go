package tensorboard

import (
	"encoding/binary"
	"math"
)

// Protobuf wire types used here.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// Field numbers, from TensorBoard's event.proto and summary.proto.
const (
	eventWallTime    = 1 // double
	eventStep        = 2 // int64
	eventFileVersion = 3 // string (oneof what)
	eventSummary     = 5 // Summary (oneof what)
	eventSessionLog  = 7 // SessionLog (oneof what)

	summaryValue = 1 // repeated Summary.Value

	valueTag         = 1 // string
	valueSimpleValue = 2 // float (oneof value)
	valueImage       = 4 // Summary.Image (oneof value)

	imageHeight     = 1 // int32
	imageWidth      = 2 // int32
	imageColorspace = 3 // int32
	imageEncoded    = 4 // bytes

	sessionLogStatus = 1 // SessionLog.SessionStatus
)

// sessionStart is SessionLog.SessionStatus START.
const sessionStart = 1

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendKey(b []byte, field, wire int) []byte {
	return appendVarint(b, uint64(field)<<3|uint64(wire))
}

// appendInt appends a varint field (int32, int64 and enums; negative values take 10 bytes).
func appendInt(b []byte, field int, v int64) []byte {
	return appendVarint(appendKey(b, field, wireVarint), uint64(v))
}

func appendDouble(b []byte, field int, v float64) []byte {
	return binary.LittleEndian.AppendUint64(appendKey(b, field, wireFixed64), math.Float64bits(v))
}

func appendFloat(b []byte, field int, v float32) []byte {
	return binary.LittleEndian.AppendUint32(appendKey(b, field, wireFixed32), math.Float32bits(v))
}

// appendBytes appends a length-delimited field: a string, bytes or an embedded message.
func appendBytes(b []byte, field int, v []byte) []byte {
	b = appendVarint(appendKey(b, field, wireBytes), uint64(len(v)))
	return append(b, v...)
}

// event encodes an Event with the given wall time and step (omitted when 0, as proto3 does) and
// payload, the already encoded oneof field (file_version, summary or session_log).
func event(wallTime float64, step int64, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payload))
	b = appendDouble(b, eventWallTime, wallTime)
	if step != 0 {
		b = appendInt(b, eventStep, step)
	}
	return append(b, payload...)
}

// fileVersion is the payload of an Event's first record.
func fileVersion(v string) []byte { return appendBytes(nil, eventFileVersion, []byte(v)) }

// sessionLogStart is the payload of a SessionLog START event.
func sessionLogStart() []byte {
	return appendBytes(nil, eventSessionLog, appendInt(nil, sessionLogStatus, sessionStart))
}

// summary is the payload of a summary Event made of encoded Summary.Values.
func summary(values ...[]byte) []byte {
	var s []byte
	for _, v := range values {
		s = appendBytes(s, summaryValue, v)
	}
	return appendBytes(nil, eventSummary, s)
}

// scalarValue encodes a Summary.Value with a simple_value.
func scalarValue(tag string, v float32) []byte {
	b := appendBytes(nil, valueTag, []byte(tag))
	return appendFloat(b, valueSimpleValue, v)
}

// imageValue encodes a Summary.Value with an Image.
func imageValue(tag string, height, width, colorspace int, encoded []byte) []byte {
	img := make([]byte, 0, 16+len(encoded))
	img = appendInt(img, imageHeight, int64(height))
	img = appendInt(img, imageWidth, int64(width))
	img = appendInt(img, imageColorspace, int64(colorspace))
	img = appendBytes(img, imageEncoded, encoded)
	return appendBytes(appendBytes(nil, valueTag, []byte(tag)), valueImage, img)
}
