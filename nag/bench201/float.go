package bench201

import "strconv"

// pow10 holds the powers of ten that are exact float64 values.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses a decimal number. Plain decimals ([-]digits[.digits])
// whose digits fit in 2^53 take Clinger's exact fast path (an exact integer
// divided by an exact power of ten is correctly rounded); everything else
// goes through strconv.ParseFloat. Results equal strconv's.
func parseFloat(b []byte) (float64, error) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	digits, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return strconv.ParseFloat(string(b), 64)
		}
		if digits > 18 {
			return strconv.ParseFloat(string(b), 64)
		}
	}
	if digits == 0 || mant >= 1<<53 || frac == 0 {
		return strconv.ParseFloat(string(b), 64)
	}
	f := float64(mant)
	if frac > 0 {
		f /= pow10[frac] // frac <= 18 here
	}
	if neg {
		f = -f
	}
	return f, nil
}
