package password

import (
	"errors"
	"fmt"
	"strconv"
)

// limits bound the cost of verifying a hash we did not write. They are
// generous enough for any sane import (Kratos allows 1 GiB; a quarter of that
// is already above every library default) and small enough that a few
// hostile rows verified at once cannot exhaust a small server.
type limits struct {
	argon2Memory  uint64 // KiB
	argon2Time    uint64
	argon2Threads uint64
	argon2KeyLen  int // bytes
	pbkdf2Iter    uint64
	bcryptCost    int
}

var importLimits = limits{
	argon2Memory:  256 * 1024, // 256 MiB
	argon2Time:    10,
	argon2Threads: 16,
	argon2KeyLen:  128,
	pbkdf2Iter:    5_000_000, // recent Django releases use about 1,000,000
	bcryptCost:    16,        // 2^16 rounds, ~4 s on one core
}

// parseCost reads a decimal cost parameter named name and checks it against
// [min, max]. Too large a value, even one that overflows, is ErrUnsafeParams:
// that is what a hostile hash looks like, and the caller should see it so.
func parseCost(name, s string, min, max uint64) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%w: %s=%.24s", ErrUnsafeParams, name, s)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%.24q is not a number", ErrMalformed, name, s)
	}
	if n > max {
		return 0, fmt.Errorf("%w: %s=%d above %d", ErrUnsafeParams, name, n, max)
	}
	if n < min {
		return 0, fmt.Errorf("%w: %s=%d below %d", ErrMalformed, name, n, min)
	}
	return n, nil
}
