package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// encodeArgon2 writes the PHC string format of the reference implementation
// (and of argon2-cffi, libsodium and PHP), so our hashes stay portable.
func encodeArgon2(variant string, memory, time uint32, threads uint8, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s",
		variant, argon2.Version, memory, time, threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parseArgon2 reads $argon2id$v=19$m=...,t=...,p=...$salt$hash (or argon2i).
func (h *Hasher) parseArgon2(s string) (verifier, error) {
	parts := strings.Split(s, "$")
	if len(parts) < 2 {
		return verifier{}, fmt.Errorf("%w: argon2: no variant", ErrMalformed)
	}
	variant := parts[1]
	if variant != "argon2id" && variant != "argon2i" {
		// argon2d is meant for proof-of-work, not passwords, and x/crypto
		// does not implement it.
		return verifier{}, fmt.Errorf("%w: %.20q", ErrUnknownFormat, variant)
	}
	if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
		// No "v=" means argon2 1.0 (0x10), which x/crypto cannot compute.
		return verifier{}, fmt.Errorf("%w: %s version 1.0", ErrUnknownFormat, variant)
	}
	if len(parts) != 6 {
		return verifier{}, fmt.Errorf("%w: %s: %d fields, want 6", ErrMalformed, variant, len(parts))
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		if strings.HasPrefix(parts[2], "v=") {
			return verifier{}, fmt.Errorf("%w: %s %.12s", ErrUnknownFormat, variant, parts[2])
		}
		return verifier{}, fmt.Errorf("%w: %s: no version", ErrMalformed, variant)
	}

	// The reference implementation always writes m, t, p in this order.
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 || !strings.HasPrefix(fields[0], "m=") ||
		!strings.HasPrefix(fields[1], "t=") || !strings.HasPrefix(fields[2], "p=") {
		return verifier{}, fmt.Errorf("%w: %s: parameters %.40q", ErrMalformed, variant, parts[3])
	}
	lim := h.limits
	memory, err := parseCost("m", fields[0][2:], 1, lim.argon2Memory)
	if err != nil {
		return verifier{}, err
	}
	passes, err := parseCost("t", fields[1][2:], 1, lim.argon2Time)
	if err != nil {
		return verifier{}, err
	}
	threads, err := parseCost("p", fields[2][2:], 1, lim.argon2Threads)
	if err != nil {
		return verifier{}, err
	}
	if memory < 8*threads {
		// The reference implementation refuses this; x/crypto would silently
		// raise m and compute something no other library agrees with.
		return verifier{}, fmt.Errorf("%w: %s: m=%d below 8*p", ErrMalformed, variant, memory)
	}

	salt, err := decodeArgon2B64(parts[4])
	if err != nil {
		return verifier{}, fmt.Errorf("%w: %s salt: %v", ErrMalformed, variant, err)
	}
	key, err := decodeArgon2B64(parts[5])
	if err != nil {
		return verifier{}, fmt.Errorf("%w: %s hash: %v", ErrMalformed, variant, err)
	}
	if len(key) > lim.argon2KeyLen {
		return verifier{}, fmt.Errorf("%w: %s hash of %d bytes above %d", ErrUnsafeParams, variant, len(key), lim.argon2KeyLen)
	}
	if len(key) < 4 {
		// argon2's minimum tag length; an empty tag would match anything.
		return verifier{}, fmt.Errorf("%w: %s hash of %d bytes", ErrMalformed, variant, len(key))
	}

	derive := argon2.Key
	if variant == "argon2id" {
		derive = h.argon2id
	}
	m, t, p := uint32(memory), uint32(passes), uint8(threads)
	own := h.params
	return verifier{
		check: func(password string) bool {
			got := derive([]byte(password), salt, t, m, p, uint32(len(key)))
			return subtle.ConstantTimeCompare(got, key) == 1
		},
		current: variant == "argon2id" && m == own.Memory && t == own.Iterations && p == own.Parallelism &&
			len(salt) == int(own.SaltLen) && len(key) == int(own.KeyLen),
	}, nil
}

// decodeArgon2B64 accepts the unpadded standard base64 of PHC strings and,
// leniently, the padded form some encoders write.
func decodeArgon2B64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
