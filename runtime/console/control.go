package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// control answers POST /api/restart and /api/stop. Each refusal comes
// before anything changes, in this order: method, cross-site, token in the
// URL, control off, authorization, body, path.
func (h *handler) control(w http.ResponseWriter, r *http.Request, order runtime.Order) {
	q := r.URL.Query()
	if r.Method != http.MethodPost {
		// A link, an <img> or a form of another site sends GET; a
		// cross-origin fetch with a token asks with OPTIONS first.
		h.refuse(r, order, q.Get("path"), text.Clip(r.Method, maxLogged)+" is not allowed here; use POST")
		allow(w, r, http.MethodPost)
		return
	}
	if err := h.csrf.Check(r); err != nil {
		h.refuse(r, order, q.Get("path"), "cross-site request")
		fail(w, http.StatusForbidden, "refused: a cross-site request ("+err.Error()+")")
		return
	}
	if q.Has("token") || q.Has("access_token") {
		h.refuse(r, order, q.Get("path"), "token in the URL")
		fail(w, http.StatusBadRequest, "refused: the token goes in the Authorization header, never in the URL (URLs end up in logs and histories)")
		return
	}
	if h.token == nil {
		h.refuse(r, order, q.Get("path"), "control is off")
		fail(w, http.StatusForbidden, "control is off: start the console with a token (console.WithToken) and send it as \"Authorization: Bearer <token>\"")
		return
	}
	if !h.authorized(r) {
		h.refuse(r, order, q.Get("path"), "bad or missing token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="arbor"`)
		fail(w, http.StatusUnauthorized, "unauthorized: send the console's token as \"Authorization: Bearer <token>\"")
		return
	}
	path, status, err := target(w, r)
	if err != nil {
		h.refuse(r, order, path, err.Error())
		fail(w, status, err.Error())
		return
	}
	hd := h.tree.Handle(path)
	if hd == nil {
		msg := fmt.Sprintf("no child %q in tree %s", text.Clip(path, maxLogged), h.tree.Name())
		h.refuse(r, order, path, msg)
		fail(w, http.StatusNotFound, msg)
		return
	}
	// A restart while the tree, or a supervisor above the child, stops
	// would come to nothing: Handle.Restart refuses it with ErrNotRunning.
	err = hd.Order(order, "console "+r.RemoteAddr)
	attrs := []slog.Attr{slog.String("path", path), slog.String("order", order.String()), slog.String("remote", r.RemoteAddr)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "arbor console: order", attrs...)
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, OrderResult{Path: path, Order: order.String()})
	case errors.Is(err, runtime.ErrTreeEnded), errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrRemoved):
		fail(w, http.StatusConflict, fmt.Sprintf("%s %s: %v", order, path, err))
	default:
		fail(w, http.StatusInternalServerError, fmt.Sprintf("%s %s: %v", order, path, err))
	}
}

// refuse logs a refused order. The path comes from whoever asked, and is
// cut short: a request of a megabyte must not write one to the log.
func (h *handler) refuse(r *http.Request, order runtime.Order, path, why string) {
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "arbor console: order refused", slog.String("path", text.Clip(path, maxLogged)),
		slog.String("order", order.String()), slog.String("remote", r.RemoteAddr), slog.String("why", why), slog.String("host", text.Clip(r.Host, maxLogged)))
}

// maxLogged is the longest path from a request that a log line or an
// answer repeats.
const maxLogged = 256

// target reads the child's path from ?path= or from a JSON body
// {"path": "..."}; given both, they must agree. Both are read strictly: an
// order is refused rather than guessed at.
func target(w http.ResponseWriter, r *http.Request) (string, int, error) {
	paths := r.URL.Query()["path"]
	if len(paths) > 1 {
		return paths[0], http.StatusBadRequest, fmt.Errorf("one child per order: the URL names %d paths", len(paths))
	}
	q, err := query(r, "path")
	if err != nil {
		return r.URL.Query().Get("path"), http.StatusBadRequest, err
	}
	path := q.Get("path")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return path, http.StatusRequestEntityTooLarge, fmt.Errorf("body too large: at most %d bytes", maxBody)
		}
		return path, http.StatusBadRequest, fmt.Errorf("reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
			return path, http.StatusUnsupportedMediaType, errors.New(`the body must be JSON {"path": "..."} with Content-Type: application/json`)
		}
		p, err := bodyPath(body)
		if err != nil {
			return path, http.StatusBadRequest, fmt.Errorf(`bad JSON body (want one object {"path": "..."}): %v`, err)
		}
		switch {
		case path == "":
			path = p
		case p != "" && p != path:
			return path, http.StatusBadRequest, fmt.Errorf("the body names %q and the URL %q", text.Clip(p, maxLogged), text.Clip(path, maxLogged))
		}
	}
	if path == "" {
		return "", http.StatusBadRequest, errors.New("which child? give its path, as ?path=tree/child")
	}
	return path, 0, nil
}

// bodyPath reads an order's body, {"path": "..."}, token by token:
// encoding/json would take "PATH" for "path", the last of two "path"s,
// and a "}" or "]" after the object, each of which a proxy or a log may
// read otherwise.
func bodyPath(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return "", err
	} else if tok != json.Delim('{') {
		return "", fmt.Errorf("not %s", kindOf(tok))
	}
	path, seen := "", false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		key, _ := tok.(string)
		switch {
		case key != "path":
			return "", fmt.Errorf("unknown field %q", text.Clip(key, maxLogged))
		case seen:
			return "", errors.New(`it names "path" twice`)
		}
		seen = true
		if tok, err = dec.Token(); err != nil {
			return "", err
		}
		s, ok := tok.(string)
		if !ok {
			return "", fmt.Errorf(`"path" must be a string, not %s`, kindOf(tok))
		}
		path = s
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("data after it")
	}
	return path, nil
}

// kindOf names the JSON value that begins with tok.
func kindOf(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// query parses r's query strictly: a parameter r's path does not take, one
// given twice, or a query that does not parse (net/url drops what it cannot
// read, such as a pair after a semicolon) is an error that names it.
func query(r *http.Request, takes ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("bad query: %v", text.Clip(err.Error(), maxLogged))
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch {
		case !slices.Contains(takes, k):
			return nil, fmt.Errorf("unknown parameter %q (this path takes %s)", text.Clip(k, maxLogged), strings.Join(takes, ", "))
		case len(q[k]) > 1:
			return nil, fmt.Errorf("parameter %q given %d times", k, len(q[k]))
		}
	}
	return q, nil
}
