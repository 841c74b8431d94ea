package hwaware

import (
	"fmt"
	"sort"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/mbv3"
)

// NB201Devices are the three NB201 latency columns used by default
// (HW-NAS-Bench, CIFAR-10 input): an edge GPU (Jetson TX2), a Raspberry
// Pi 4 CPU and a Pixel 3 phone, in ms.
var NB201Devices = map[string]string{
	"edgegpu": "hw_c10_edgegpu_latency",
	"raspi4":  "hw_c10_raspi4_latency",
	"pixel3":  "hw_c10_pixel3_latency",
}

// NB201DeviceColumn returns the table column of a device: a short name
// from NB201Devices or any latency/energy column name of the table.
func NB201DeviceColumn(t *bench201.Table, device string) (string, error) {
	if c, ok := NB201Devices[device]; ok {
		return c, nil
	}
	if t != nil && t.HasColumn(device) {
		return device, nil
	}
	names := make([]string, 0, len(NB201Devices))
	for k := range NB201Devices {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown NB201 device %q (want one of %v or a table column such as hw_c10_fpga_latency or help_lat_pixel2)", device, names)
}

// NB201Data returns all 15,625 cells with a table column as target.
// Non-positive values (HW-NAS-Bench marks unsupported cells with −1) are an
// error when positive is set.
func NB201Data(t *bench201.Table, column string, positive bool) (*Data, error) {
	col, err := t.Column(column)
	if err != nil {
		return nil, err
	}
	d := &Data{}
	for i := 0; i < t.Len(); i++ {
		if positive && !(col[i] > 0) {
			return nil, fmt.Errorf("NB201 column %s: cell %d has value %g; a latency target must be positive", column, i, col[i])
		}
		x := t.Arch(i).OneHot()
		d.X = append(d.X, x.Slice())
		d.Y = append(d.Y, col[i])
	}
	return d, nil
}

// MBV3LatencyData returns the OFA table rows that have a HELP latency for
// device (see mbv3.LatencyColumns), with their resolutions.
func MBV3LatencyData(t *mbv3.Table, device string) (*Data, error) {
	d := &Data{}
	for i := range t.Rows {
		r := &t.Rows[i]
		v, ok, err := r.Latency(device)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		x := r.Arch.OneHot()
		d.X = append(d.X, x.Slice())
		d.Y = append(d.Y, v)
		d.Res = append(d.Res, float64(r.R))
	}
	if len(d.X) == 0 {
		return nil, fmt.Errorf("OFA table has no %s latencies", device)
	}
	return d, nil
}

// MBV3AccuracyData returns the rows with a measured w1.0 top-1
// (moofa_top1_pct_w10, 2,610 rows at r 128/160/192) with resolutions.
func MBV3AccuracyData(t *mbv3.Table) (*Data, error) {
	d := &Data{}
	for i := range t.Rows {
		r := &t.Rows[i]
		if r.MoofaTop1PctW10 == nil {
			continue
		}
		x := r.Arch.OneHot()
		d.X = append(d.X, x.Slice())
		d.Y = append(d.Y, *r.MoofaTop1PctW10)
		d.Res = append(d.Res, float64(r.R))
	}
	if len(d.X) == 0 {
		return nil, fmt.Errorf("OFA table has no measured accuracies")
	}
	return d, nil
}

// Quantile returns the q-quantile (0..1, nearest rank) of v.
func Quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	k := int(q * float64(len(s)-1))
	return s[max(0, min(k, len(s)-1))]
}
