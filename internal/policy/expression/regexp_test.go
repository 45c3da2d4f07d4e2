package expression

import (
	"fmt"
	"regexp"
	"runtime"
	"testing"

	"go.starlark.net/starlark"
)

func TestRegexpBounds(t *testing.T) {
	t.Run("pattern too long", func(t *testing.T) {
		_, err := runSrc(t, `return regex_match("a", "a" * 5000)`, Input{}, Limits{})
		wantErr(t, err, "regex_match: pattern too long (5000 bytes, the limit is 4096)")
	})
	t.Run("pattern too large", func(t *testing.T) {
		_, err := runSrc(t, `return regex_match("a", "[\\s\\S]{1000}" * 3)`, Input{}, Limits{})
		wantErr(t, err, "regex_match: pattern too large (about 3000 instructions compiled, the limit is 2000)")
	})
	t.Run("replace output too large", func(t *testing.T) {
		_, err := runSrc(t, `return regex_replace("a" * 1000, "a", "\\g<0>" * 2000)`, Input{}, Limits{})
		wantErr(t, err, "value too large: regex_replace would build a string")
	})
	t.Run("cache bounded by bytes", func(t *testing.T) {
		before := heapInUse()
		// Eight patterns of a hundred thousand instructions each are
		// refused; 240 of the largest allowed size fill the cache, which
		// keeps what fits in its budget.
		for i := range 8 {
			src := fmt.Sprintf(`return regex_match("a", "[\\s\\S]{1000}" * 100 + "%d")`, i)
			_, err := runSrc(t, src, Input{}, Limits{})
			wantErr(t, err, "pattern too large")
		}
		for i := range 240 {
			src := fmt.Sprintf(`return regex_match("a", "[\\s\\S]{1000}[\\s\\S]{990}%d")`, i)
			if _, err := runSrc(t, src, Input{}, Limits{}); err != nil {
				t.Fatal(err)
			}
		}
		regexpCache.Lock()
		bytes, n := regexpCache.bytes, len(regexpCache.m)
		regexpCache.Unlock()
		if bytes > regexpCacheBytes || n == 0 {
			t.Errorf("the cache holds %d patterns counted as %d bytes, want at most %d bytes", n, bytes, regexpCacheBytes)
		}
		if grown := int64(heapInUse()) - int64(before); grown > 3*regexpCacheBytes {
			t.Errorf("the patterns grew the heap by %d MiB and kept it, want at most %d MiB", grown>>20, 3*regexpCacheBytes>>20)
		}
	})
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestRegexpReplaceAsGo: regex_replace finds its matches one search at a
// time (so that it can stop between them); it must still replace exactly
// what Go's ReplaceAllString does, anchors and empty matches included.
func TestRegexpReplaceAsGo(t *testing.T) {
	patterns := []string{`a`, `a*`, `^a`, `(?m)^a`, `a$`, `\b`, `\Ba`, `x*`, `.*x|y`, `(a)(b)?`, `é|.`, `\z`, `^`, `$`, `(?i)A+`, `(?P<w>\w+)`, ``}
	inputs := []string{"", "a", "aaa", "abab", "ba ab a", "yyxy", "é\xffa\n a", "aé", "\xe2\x82A"}
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for _, in := range inputs {
			for _, repl := range []string{"<$0>", "[${1}]", "${w}!", ""} {
				want := re.ReplaceAllString(in, repl)
				r := &run{lim: DefaultLimits.withDefaults(), thread: &starlark.Thread{}}
				c, err := cachedRegexp(p, maxPatternInsts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.replaceAll(c, p, in, repl)
				if err != nil || got != want {
					t.Errorf("replace %q in %q by %q: got %q, %v; want %q", p, in, repl, got, err, want)
				}
			}
		}
	}
}
