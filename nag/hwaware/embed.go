package hwaware

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/nagml/nag/nag/ckpt"
)

//go:embed models
var models embed.FS

// EmbeddedDevices lists the NB201 devices with an embedded latency
// regressor.
func EmbeddedDevices() []string {
	var out []string
	ents, _ := fs.ReadDir(models, "models")
	for _, e := range ents {
		if d, ok := strings.CutPrefix(e.Name(), "nb201_"); ok && strings.HasSuffix(d, ".ckpt") {
			out = append(out, strings.TrimSuffix(d, ".ckpt"))
		}
	}
	sort.Strings(out)
	return out
}

// EmbeddedNB201 returns the embedded NB201 latency regressor of a device
// (see EmbeddedDevices).
func EmbeddedNB201(device string) (*Regressor, error) {
	b, err := models.ReadFile("models/nb201_" + device + ".ckpt")
	if err != nil {
		return nil, fmt.Errorf("no embedded latency model for NB201 device %q (embedded: %v); train one with nag hw-train and pass its checkpoint", device, EmbeddedDevices())
	}
	c, err := ckpt.ReadBytes(b, CheckpointKind)
	if err != nil {
		return nil, fmt.Errorf("embedded latency model %s: %w", device, err)
	}
	return FromCheckpoint(c)
}
