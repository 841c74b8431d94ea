package torchpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// File is a decoded .pt file.
type File struct {
	Format string   // "zip" or "legacy"
	Root   any      // the unpickled object
	Notes  []string // objects that were skipped, one line per class
}

// Load reads a .pt file in either torch format.
func Load(filename string) (*File, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("torchpt: %w", err)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("torchpt: %s: %w", filename, err)
	}
	return f, nil
}

// Decode reads the bytes of a .pt file in either torch format.
func Decode(data []byte) (f *File, err error) {
	defer func() {
		if r := recover(); r != nil { // malformed pickles can trip the unpickler
			f, err = nil, fmt.Errorf("malformed file: %v", r)
		}
	}()
	if len(data) >= 4 && string(data[:4]) == "PK\x03\x04" {
		return decodeZip(data)
	}
	return decodeLegacy(data)
}

// loader holds the state of one file being read.
type loader struct {
	skipped map[string]int
}

func (l *loader) notes() []string {
	var out []string
	for c, n := range l.skipped {
		out = append(out, fmt.Sprintf("skipped %d %s object(s): not representable, kept as *torchpt.Object", n, c))
	}
	sort.Strings(out)
	return out
}

func (l *loader) newUnpickler(r io.Reader, persistent func(any) (any, error)) pickle.Unpickler {
	u := pickle.NewUnpickler(r)
	u.FindClass = l.findClass
	u.PersistentLoad = persistent
	return u
}

func decodeZip(data []byte) (*File, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("zip format: %w", err)
	}
	var pkl *zip.File
	records := map[string]*zip.File{}
	for _, f := range zr.File {
		records[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && (pkl == nil || len(f.Name) < len(pkl.Name)) {
			pkl = f
		}
		if path.Base(f.Name) == "constants.pkl" {
			return nil, errors.New("zip format: TorchScript archives are not supported")
		}
	}
	if pkl == nil {
		return nil, errors.New("zip format: no data.pkl record")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	bigEndian := false
	if bo, ok := records[prefix+"byteorder"]; ok {
		b, err := readRecord(bo)
		if err != nil {
			return nil, err
		}
		bigEndian = strings.TrimSpace(string(b)) == "big"
	}
	l := &loader{skipped: map[string]int{}}
	storages := map[string]*storage{}
	persistent := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("zip format: persistent id %v is not a storage tuple", id)
		}
		if s, _ := t.Get(0).(string); s != "storage" {
			return nil, fmt.Errorf("zip format: persistent id kind %v, want storage", t.Get(0))
		}
		cls, ok := t.Get(1).(*storageClass)
		if !ok {
			return nil, fmt.Errorf("zip format: unknown storage type %v", t.Get(1))
		}
		key, ok1 := t.Get(2).(string)
		numel, ok2 := t.Get(4).(int)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("zip format: bad storage id %v", id)
		}
		if s, ok := storages[key]; ok {
			return s, nil
		}
		rec, ok := records[prefix+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("zip format: storage record data/%s missing", key)
		}
		b, err := readRecord(rec)
		if err != nil {
			return nil, err
		}
		dt := cls.dtype
		if len(b) < numel*dt.Size() {
			return nil, fmt.Errorf("zip format: storage data/%s has %d bytes, want %d", key, len(b), numel*dt.Size())
		}
		s := &storage{dtype: dt, numel: numel, data: b, big: bigEndian}
		storages[key] = s
		return s, nil
	}
	pb, err := readRecord(pkl)
	if err != nil {
		return nil, fmt.Errorf("zip format: %w", err)
	}
	if _, err := checkPickle(pb); err != nil {
		return nil, fmt.Errorf("zip format: %s: %w", pkl.Name, err)
	}
	u := l.newUnpickler(bytes.NewReader(pb), persistent)
	root, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("zip format: unpickle %s: %w", pkl.Name, err)
	}
	v, err := l.convert(root, 0)
	if err != nil {
		return nil, err
	}
	return &File{Format: "zip", Root: v, Notes: l.notes()}, nil
}

// readRecord reads a zip record, never more than the size its header
// declares (a compressed record cannot inflate beyond what the file claims).
func readRecord(f *zip.File) ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip record %s: %w", f.Name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, int64(min(f.UncompressedSize64, 1<<40))+1))
	if err != nil {
		return nil, fmt.Errorf("zip record %s: %w", f.Name, err)
	}
	if uint64(len(b)) > f.UncompressedSize64 {
		return nil, fmt.Errorf("zip record %s: more data than the declared %d bytes", f.Name, f.UncompressedSize64)
	}
	return b, nil
}

// legacyMagic is the magic number torch writes first in the legacy format.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

func decodeLegacy(data []byte) (*File, error) {
	r := bytes.NewReader(data)
	// check vets the next pickle's lengths before gopickle reads it.
	check := func(what string) error {
		if _, err := checkPickle(data[len(data)-r.Len():]); err != nil {
			return fmt.Errorf("legacy format: %s: %w (not a torch .pt file, or corrupt)", what, err)
		}
		return nil
	}
	plain := func(what string) (any, error) {
		if err := check(what); err != nil {
			return nil, err
		}
		u := pickle.NewUnpickler(r)
		v, err := u.Load()
		if err != nil {
			return nil, fmt.Errorf("legacy format: %s: %w (not a torch .pt file?)", what, err)
		}
		return v, nil
	}
	magic, err := plain("magic number")
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("legacy format: bad magic number (not a torch .pt file)")
	}
	proto, err := plain("protocol version")
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int); !ok || p != 1001 {
		return nil, fmt.Errorf("legacy format: protocol version %v, want 1001", proto)
	}
	sysInfo, err := plain("sys info")
	if err != nil {
		return nil, err
	}
	bigEndian := false
	if d, ok := sysInfo.(*types.Dict); ok {
		for _, e := range *d {
			if e.Key == "little_endian" {
				if le, ok := e.Value.(bool); ok && !le {
					bigEndian = true
				}
			}
		}
	}
	l := &loader{skipped: map[string]int{}}
	roots := map[string]*storage{}
	persistent := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 1 {
			return nil, fmt.Errorf("legacy format: persistent id %v is not a tuple", id)
		}
		kind, _ := t.Get(0).(string)
		switch kind {
		case "module":
			if t.Len() < 2 {
				return nil, errors.New("legacy format: short module id")
			}
			return t.Get(1), nil
		case "storage":
		default:
			return nil, fmt.Errorf("legacy format: persistent id kind %q", kind)
		}
		if t.Len() < 6 {
			return nil, fmt.Errorf("legacy format: storage id %v too short", id)
		}
		cls, ok := t.Get(1).(*storageClass)
		if !ok {
			return nil, fmt.Errorf("legacy format: unknown storage type %v", t.Get(1))
		}
		key, ok1 := t.Get(2).(string)
		numel, ok2 := t.Get(4).(int)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("legacy format: bad storage id %v", id)
		}
		root, ok := roots[key]
		if !ok {
			root = &storage{dtype: cls.dtype, numel: numel, big: bigEndian}
			roots[key] = root
		}
		switch vm := t.Get(5).(type) {
		case nil:
			return root, nil
		case *types.Tuple:
			if vm.Len() != 3 {
				return nil, fmt.Errorf("legacy format: view metadata %v", vm)
			}
			off, ok1 := vm.Get(1).(int)
			size, ok2 := vm.Get(2).(int)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("legacy format: view metadata %v", vm)
			}
			return &storage{dtype: cls.dtype, numel: size, root: root, offset: off}, nil
		default:
			return nil, fmt.Errorf("legacy format: view metadata of type %T", vm)
		}
	}
	if err := check("object"); err != nil {
		return nil, err
	}
	u := l.newUnpickler(r, persistent)
	root, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: unpickle: %w", err)
	}
	keysV, err := plain("storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*types.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are %T, want a list", keysV)
	}
	for _, k := range *keys {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("legacy format: storage key %v is not a string", k)
		}
		s, ok := roots[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %q listed but never referenced", key)
		}
		var n int64
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, fmt.Errorf("legacy format: storage %q size: %w", key, err)
		}
		if n < 0 || n > int64(r.Len()/s.dtype.Size()) {
			return nil, fmt.Errorf("legacy format: storage %q claims %d elements, %d bytes left", key, n, r.Len())
		}
		nb := int(n) * s.dtype.Size()
		s.numel = int(n)
		s.data = make([]byte, nb)
		if _, err := io.ReadFull(r, s.data); err != nil {
			return nil, fmt.Errorf("legacy format: storage %q: %w", key, err)
		}
	}
	for key, s := range roots {
		if s.data == nil && s.numel > 0 {
			return nil, fmt.Errorf("legacy format: storage %q has no data", key)
		}
	}
	v, err := l.convert(root, 0)
	if err != nil {
		return nil, err
	}
	return &File{Format: "legacy", Root: v, Notes: l.notes()}, nil
}
