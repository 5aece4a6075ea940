package console

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
)

//go:embed page.html
var page []byte

// pagePolicy lets the page run its own inline script and style and nothing
// else: no other origin, no frames around it (the buttons cannot be
// clickjacked), no forms. The script is allowed by its hash.
var pagePolicy = func() string {
	script := between(page, "<script>", "</script>")
	style := between(page, "<style>", "</style>")
	return "default-src 'none'; connect-src 'self'; img-src 'self' data:; " +
		"script-src '" + hash(script) + "'; style-src '" + hash(style) + "'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

func between(b []byte, open, close string) []byte {
	_, rest, _ := bytes.Cut(b, []byte(open))
	in, _, _ := bytes.Cut(rest, []byte(close))
	return in
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

func servePage(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", pagePolicy)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(page)
	}
}
