package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
)

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// ExtractLink returns the first http(s) link in the plain-text part of a
// raw message as an SMTP server received it, or "" if there is none. It
// decodes MIME properly (quoted-printable wraps long links with soft line
// breaks), so flow tests can follow verification and reset links the way a
// reader would. Copy it where needed; it is deliberately self-contained.
func ExtractLink(raw []byte) string {
	parts, err := MIMEParts(raw)
	if err != nil {
		return ""
	}
	return linkPattern.FindString(parts["text/plain"])
}

// MIMEParts decodes a raw message into its leaf parts, keyed by media type
// ("text/plain", "text/html"); later parts of the same type are dropped.
func MIMEParts(raw []byte) (map[string]string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = walkPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, out)
	return out, err
}

func walkPart(contentType, encoding string, body io.Reader, out map[string]string) error {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		media = "text/plain" // RFC 2045's default
	}
	if strings.HasPrefix(media, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart() // raw: we decode transfer encodings ourselves
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if _, seen := out[media]; !seen {
		out[media] = string(b)
	}
	return nil
}

// newlineStripper drops the line breaks base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
