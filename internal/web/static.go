package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// staticPrefix is where static files are served.
const staticPrefix = "/static/"

// hashLen is how many hex digits of the SHA-256 go into a file's URL:
// enough that two versions never share a URL.
const hashLen = 12

// asset is one embedded static file.
type asset struct {
	name   string // "style.css"
	hashed string // "style.0123456789ab.css"
	body   []byte
	etag   string
	ctype  string
}

type staticFiles struct {
	byName   map[string]*asset
	byHashed map[string]*asset
}

// loadStatic reads every file of fsys once and names it by its content.
func loadStatic(fsys fs.FS) (*staticFiles, error) {
	st := &staticFiles{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:hashLen]
		ext := path.Ext(p)
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a := &asset{name: p, hashed: strings.TrimSuffix(p, ext) + "." + h + ext, body: body,
			etag: `"` + h + `"`, ctype: ctype}
		st.byName[a.name], st.byHashed[a.hashed] = a, a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if st.byName["style.css"] == nil {
		return nil, fs.ErrNotExist
	}
	return st, nil
}

// StaticURL is the URL of static file name ("style.css"), with its content
// hash in the path so it can be cached forever.
func (r *Renderer) StaticURL(name string) string {
	if a := r.static.byName[name]; a != nil {
		return staticPrefix + a.hashed
	}
	return staticPrefix + name
}

// Mount serves the static files under /static/.
func (r *Renderer) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+staticPrefix+"{path...}", r.serveStatic)
	// Browsers ask for /favicon.ico on pages without an icon link (JSON,
	// errors); answer with the icon rather than a 404 in their console.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, req *http.Request) {
		req.SetPathValue("path", "favicon.svg")
		r.serveStatic(w, req)
	})
}

// serveStatic answers from the embedded files only: the path is a map key,
// never a file system path, so "../" leads nowhere.
//
// The hashed URL is immutable and cached for a year. The plain name, or a
// hash of another version (a page rendered by a replica still running the
// previous release), gets the current file with revalidation, so a
// rolling upgrade never shows an unstyled page and never pins a wrong
// version in a cache.
func (r *Renderer) serveStatic(w http.ResponseWriter, req *http.Request) {
	p := req.PathValue("path")
	a := r.static.byHashed[p]
	cache := "public, max-age=31536000, immutable"
	if a == nil {
		a = r.static.byName[unhash(p)]
		cache = "no-cache"
	}
	if a == nil {
		http.NotFound(w, req)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", cache)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, req, a.name, time.Time{}, bytes.NewReader(a.body))
}

// unhash turns "style.<hex>.css" into "style.css"; anything else is
// returned as it is.
func unhash(p string) string {
	ext := path.Ext(p)
	stem := strings.TrimSuffix(p, ext)
	i := strings.LastIndexByte(stem, '.')
	if i < 0 || len(stem)-i-1 != hashLen {
		return p
	}
	for _, c := range stem[i+1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return p
		}
	}
	return stem[:i] + ext
}
