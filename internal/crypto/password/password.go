package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Errors returned by [Hasher.Verify]. They are wrapped with detail for logs;
// test them with errors.Is.
var (
	// ErrUnknownFormat: the string is not a hash scheme this package verifies
	// (for example Django's unsalted md5, argon2d, or $2x$ bcrypt).
	ErrUnknownFormat = errors.New("password: unknown hash format")
	// ErrUnsafeParams: the hash asks for more work than the import bounds allow.
	ErrUnsafeParams = errors.New("password: hash parameters exceed the allowed bounds")
	// ErrMalformed: a known scheme whose string does not parse.
	ErrMalformed = errors.New("password: malformed hash")
)

// Params are argon2id cost parameters for new hashes.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32 // bytes
	KeyLen      uint32 // bytes
}

// DefaultParams is the OWASP Password Storage Cheat Sheet's argon2id minimum
// (19 MiB, 2 passes, 1 lane). It keeps a login near 20-40 ms of one core, so
// a small server can absorb a login storm; operators with memory to spare
// raise Memory.
var DefaultParams = Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Validate reports whether p can be used by [NewHasher]. The upper bounds are
// the import bounds: a hasher must never write a hash it would refuse to read.
func (p Params) Validate() error {
	switch {
	case p.Iterations < 1 || uint64(p.Iterations) > importLimits.argon2Time:
		return fmt.Errorf("password: argon2id iterations %d outside [1, %d]", p.Iterations, importLimits.argon2Time)
	case p.Parallelism < 1 || uint64(p.Parallelism) > importLimits.argon2Threads:
		return fmt.Errorf("password: argon2id parallelism %d outside [1, %d]", p.Parallelism, importLimits.argon2Threads)
	case p.Memory < 8*uint32(p.Parallelism) || uint64(p.Memory) > importLimits.argon2Memory:
		// 8 KiB per lane is argon2's own minimum.
		return fmt.Errorf("password: argon2id memory %d KiB outside [%d, %d]", p.Memory, 8*uint32(p.Parallelism), importLimits.argon2Memory)
	case p.SaltLen < 8 || p.SaltLen > 64:
		return fmt.Errorf("password: argon2id salt length %d outside [8, 64]", p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > uint32(importLimits.argon2KeyLen):
		return fmt.Errorf("password: argon2id key length %d outside [16, %d]", p.KeyLen, importLimits.argon2KeyLen)
	}
	return nil
}

// argon2Func has the signature of argon2.IDKey. Tests replace the hasher's
// copy to observe how many derivations run at once.
type argon2Func func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Hasher hashes and verifies passwords. It is safe for concurrent use; all
// expensive work of all its methods shares one concurrency bound.
type Hasher struct {
	params Params
	limits limits
	sem    chan struct{}

	// dummySalt and dummyKey let Dummy spend a real argon2id derivation and
	// comparison without a stored hash.
	dummySalt []byte
	dummyKey  []byte

	argon2id argon2Func
}

// NewHasher returns a Hasher that writes argon2id hashes with p and runs at
// most maxConcurrent hash computations at once (runtime.NumCPU() when
// maxConcurrent <= 0): more than one per core only adds memory, never
// throughput. Callers beyond the bound wait, honoring their context.
//
// NewHasher panics if p.Validate fails: parameters come from configuration,
// which is validated at start-up, so a bad value here is a programming error.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{
		params:    p,
		limits:    importLimits,
		sem:       make(chan struct{}, maxConcurrent),
		dummySalt: make([]byte, p.SaltLen),
		dummyKey:  make([]byte, p.KeyLen),
		argon2id:  argon2.IDKey,
	}
	rand.Read(h.dummySalt)
	rand.Read(h.dummyKey)
	return h
}

// acquire takes a slot of the concurrency bound, or gives up when ctx ends.
func (h *Hasher) acquire(ctx context.Context) error {
	// Checked first because select picks randomly among ready cases, and a
	// caller who has already gone away should not be given a slot.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// withSlot runs fn holding a slot; the deferred release keeps a panic in fn
// from shrinking the bound for the life of the process.
func (h *Hasher) withSlot(ctx context.Context, fn func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	fn()
	return nil
}

// Hash returns the PHC string of an argon2id hash of password, in the format
// of the reference implementation:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (standard base64, no padding).
// It waits for a slot of the concurrency bound and returns ctx.Err() if ctx
// ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	var key []byte
	if err := h.withSlot(ctx, func() {
		key = h.argon2id([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	}); err != nil {
		return "", err
	}
	return encodeArgon2("argon2id", p.Memory, p.Iterations, p.Parallelism, salt, key), nil
}

// Verify reports whether password matches encoded, and whether the caller
// should replace encoded with Hash(password) because it is not argon2id with
// this hasher's parameters. rehash is only ever true when ok is.
//
// Accepted formats: argon2id and argon2i PHC strings; bcrypt $2a$, $2b$,
// $2y$; Django pbkdf2_sha256 (Authentik's default), pbkdf2_sha1, argon2,
// bcrypt_sha256 and bcrypt. An empty string or a Django unusable password
// ("!...") never matches and is not an error; it still costs a Dummy, so a
// login cannot tell such accounts from others by timing.
//
// Parsing and the parameter bounds are checked before any work and before
// waiting for a slot, so a hostile hash is refused at once with
// ErrUnsafeParams and never occupies the concurrency bound.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if encoded == "" || strings.HasPrefix(encoded, djangoUnusablePrefix) {
		h.Dummy(ctx, password)
		return false, false, nil
	}
	v, err := h.parse(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.withSlot(ctx, func() { ok = v.check(password) }); err != nil {
		return false, false, err
	}
	return ok, ok && !v.current, nil
}

// Dummy spends the work of a Verify against an argon2id hash with this
// hasher's parameters, including the wait for a slot. Call it when the user
// is unknown so that "no such user" and "wrong password" take the same time.
func (h *Hasher) Dummy(ctx context.Context, password string) {
	p := h.params
	h.withSlot(ctx, func() {
		key := h.argon2id([]byte(password), h.dummySalt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
		subtle.ConstantTimeCompare(key, h.dummyKey)
	})
}

// verifier is a parsed hash: check does the expensive part, current says the
// hash needs no upgrade.
type verifier struct {
	check   func(password string) bool
	current bool
}

const (
	// Django marks accounts without a password with "!" and random text.
	djangoUnusablePrefix = "!"
	// maxEncodedLen is far above any real hash (a bcrypt string is 60 bytes,
	// an argon2id one ~100) and keeps base64 decoding of hostile input cheap.
	maxEncodedLen = 512
)

// parse recognises the scheme by its prefix and bounds its parameters.
func (h *Hasher) parse(encoded string) (verifier, error) {
	if len(encoded) > maxEncodedLen {
		return verifier{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxEncodedLen)
	}
	scheme, rest, _ := strings.Cut(encoded, "$")
	switch scheme {
	case "": // modular crypt format: $argon2id$..., $2b$...
		if strings.HasPrefix(rest, "argon2") {
			return h.parseArgon2(encoded)
		}
		return h.parseBcrypt(encoded, false)
	case "pbkdf2_sha256", "pbkdf2_sha1":
		return h.parsePBKDF2(scheme, rest)
	case "argon2": // Django: "argon2" + a PHC string
		v, err := h.parseArgon2("$" + rest)
		v.current = false
		return v, err
	case "bcrypt_sha256": // Django: "bcrypt_sha256$" + a bcrypt string
		return h.parseDjangoBcrypt(rest, true)
	case "bcrypt":
		return h.parseDjangoBcrypt(rest, false)
	}
	return verifier{}, fmt.Errorf("%w: scheme %.20q", ErrUnknownFormat, scheme)
}
