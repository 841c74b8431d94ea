package torchpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// checkPickle walks the pickle (protocols 0-5) at the start of b up to its
// STOP opcode without building anything, and returns an error when an opcode
// is unknown, its argument is cut off, or it declares a length beyond the
// bytes that follow. gopickle allocates a declared length before reading it,
// so without this check a few corrupt bytes (a BINBYTES8 length of 2^40,
// say) would make it ask for terabytes and kill the process. It returns the
// pickle's length in bytes.
func checkPickle(b []byte) (int, error) {
	i := 0
	need := func(n uint64, op byte) error {
		if n > uint64(len(b)-i) {
			return fmt.Errorf("pickle opcode %q at byte %d needs %d bytes, %d left", op, i-1, n, len(b)-i)
		}
		return nil
	}
	// sized reads a w-byte little-endian length, then skips that many bytes.
	sized := func(w int, op byte) error {
		if err := need(uint64(w), op); err != nil {
			return err
		}
		var n uint64
		switch w {
		case 1:
			n = uint64(b[i])
		case 4:
			v := int32(binary.LittleEndian.Uint32(b[i:]))
			if v < 0 {
				return fmt.Errorf("pickle opcode %q at byte %d has negative length %d", op, i-1, v)
			}
			n = uint64(v)
		case 8:
			n = binary.LittleEndian.Uint64(b[i:])
		}
		i += w
		if err := need(n, op); err != nil {
			return err
		}
		i += int(n)
		return nil
	}
	line := func(op byte) error {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return fmt.Errorf("pickle opcode %q at byte %d: argument line not terminated", op, i-1)
		}
		i += j + 1
		return nil
	}
	fixed := func(n int, op byte) error {
		if err := need(uint64(n), op); err != nil {
			return err
		}
		i += n
		return nil
	}
	for i < len(b) {
		op := b[i]
		i++
		var err error
		switch op {
		case '.': // STOP
			return i, nil
		case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
			// no argument
		case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p':
			err = line(op)
		case 'c', 'i': // GLOBAL, INST: module and name lines
			if err = line(op); err == nil {
				err = line(op)
			}
		case 'K', 'h', 'q', 0x80, 0x82: // BININT1, BINGET, BINPUT, PROTO, EXT1
			err = fixed(1, op)
		case 'M', 0x83: // BININT2, EXT2
			err = fixed(2, op)
		case 'J', 'j', 'r', 0x84: // BININT, LONG_BINGET, LONG_BINPUT, EXT4
			err = fixed(4, op)
		case 'G', 0x95: // BINFLOAT; FRAME (its length is checked, its opcodes walked)
			if err = fixed(8, op); err == nil && op == 0x95 {
				if n := binary.LittleEndian.Uint64(b[i-8:]); n > uint64(len(b)-i) {
					err = fmt.Errorf("pickle frame at byte %d declares %d bytes, %d left", i-9, n, len(b)-i)
				}
			}
		case 'U', 'C', 0x8a, 0x8c: // SHORT_BINSTRING, SHORT_BINBYTES, LONG1, SHORT_BINUNICODE
			err = sized(1, op)
		case 'T', 'X', 'B', 0x8b: // BINSTRING, BINUNICODE, BINBYTES, LONG4
			err = sized(4, op)
		case 0x8d, 0x8e, 0x96: // BINUNICODE8, BINBYTES8, BYTEARRAY8
			err = sized(8, op)
		default:
			err = fmt.Errorf("unknown pickle opcode %#x at byte %d", op, i-1)
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("pickle ends without STOP after %d bytes", len(b))
}
