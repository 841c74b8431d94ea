package torchpt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nagml/nag/internal/shareddata"
)

// FuzzDecode: arbitrary bytes are either decoded or rejected with an error,
// never a panic (the unpickler and both container formats read untrusted
// files). Seeds: a few minimal inputs, and the small official files when
// the shared data is present.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"",
		"\x80\x02K\x05.", // pickle: the int 5
		"\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.", // pickle: {"a": 1}
		"PK\x03\x04garbage",
	} {
		f.Add([]byte(s))
	}
	if root, ok := shareddata.Find(); ok {
		for _, name := range []string{"transfer_nag_config.pt", "meta_train_tasks_predictor_idx.pt"} {
			if b, err := os.ReadFile(filepath.Join(root, "diffusionnag-official", name)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		_ = Describe(file.Root)
	})
}
