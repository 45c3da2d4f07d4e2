//go:build ignore

// gen_wordlists rebuilds wordlists.txt.gz from the npm package zxcvbn 4.4.2
// (MIT, Dan Wheeler and Dropbox). Run from this directory:
//
//	npm pack zxcvbn@4.4.2
//	go run gen_wordlists.go zxcvbn-4.4.2.tgz
//	rm zxcvbn-4.4.2.tgz
//
// The tarball's SHA-256 is checked, so the output is the same on every
// machine with the same Go release (compress/gzip output is deterministic
// for a given Go version; the header carries no name and no time).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"strings"
)

const (
	tarballSHA256 = "0b3ebb60ec2df2340e1b8b70e4cb2657a3ceb192781d299310e7aceaa606cd22"
	member        = "package/lib/frequency_lists.js"
	out           = "wordlists.txt.gz"
)

// The order of the lists in the output; wordlist.go's list IDs follow it.
var lists = []string{"passwords", "english_wikipedia", "female_names", "surnames", "us_tv_and_film", "male_names"}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run gen_wordlists.go zxcvbn-4.4.2.tgz")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != tarballSHA256 {
		log.Fatalf("%s: sha256 %x, want %s", os.Args[1], sum, tarballSHA256)
	}
	js := extract(raw)
	re := regexp.MustCompile(`(?m)^  ([a-z_]+): "([^"]*)"\.split\(","\)`)
	found := map[string][]string{}
	for _, m := range re.FindAllStringSubmatch(js, -1) {
		found[m[1]] = strings.Split(m[2], ",")
	}
	var text bytes.Buffer
	total := 0
	for _, name := range lists {
		words := found[name]
		if len(words) == 0 {
			log.Fatalf("list %s missing from %s", name, member)
		}
		fmt.Fprintf(&text, "#%s\n", name)
		for _, w := range words {
			if w == "" || strings.ContainsAny(w, "#\n") || strings.ToLower(w) != w {
				log.Fatalf("list %s: unexpected entry %q", name, w)
			}
			text.WriteString(w)
			text.WriteByte('\n')
		}
		total += len(words)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	zw.Write(text.Bytes())
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(out, gz.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d lists, %d entries, %d bytes of text, %d gzipped", out, len(lists), total, text.Len(), gz.Len())
}

func extract(tgz []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		log.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			log.Fatalf("%s not in the tarball", member)
		}
		if err != nil {
			log.Fatal(err)
		}
		if h.Name == member {
			b, err := io.ReadAll(tr)
			if err != nil {
				log.Fatal(err)
			}
			return string(b)
		}
	}
}
