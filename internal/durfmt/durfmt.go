package durfmt

import "time"

// Round returns d rounded to three significant digits: 29.999995431s is 30s,
// 1.499999999s is 1.5s, 347.123456ms is 347ms. Its String is what a message
// should print.
func Round(d time.Duration) time.Duration {
	a := d
	if a < 0 {
		a = -a
	}
	unit := time.Duration(1)
	for ; a >= 1000; a /= 10 {
		unit *= 10
	}
	return d.Round(unit)
}
