package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// control answers POST /api/restart and /api/stop. Each refusal comes
// before anything changes, in this order: method, cross-site, token in the
// URL, control off, authorization, body, path.
func (h *handler) control(w http.ResponseWriter, r *http.Request, order runtime.Order) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
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
	if why := h.stopping(order, path); why != "" {
		h.refuse(r, order, path, why)
		fail(w, http.StatusConflict, fmt.Sprintf("%s %s: refused: %s", order, path, why))
		return
	}
	err = hd.Order(order, "console "+r.RemoteAddr)
	attrs := []slog.Attr{slog.String("path", path), slog.String("order", order.String()), slog.String("remote", r.RemoteAddr)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "arbor console: order", attrs...)
	// The stop may have begun as the order was given: the supervisor then
	// dropped it, or restarted the child only to stop it.
	why := ""
	if err == nil {
		why = h.stopping(order, path)
	}
	switch {
	case why != "":
		fail(w, http.StatusConflict, fmt.Sprintf("%s %s: %s as the order was given", order, path, why))
	case err == nil:
		writeJSON(w, http.StatusAccepted, OrderResult{Path: path, Order: order.String()})
	case errors.Is(err, runtime.ErrTreeEnded), errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrRemoved):
		fail(w, http.StatusConflict, fmt.Sprintf("%s %s: %v", order, path, err))
	default:
		fail(w, http.StatusInternalServerError, fmt.Sprintf("%s %s: %v", order, path, err))
	}
}

// stopping says why a restart of the child at path would come to nothing:
// the tree, or a supervisor above the child, is stopping. Its supervisor
// takes the order all the same (Handle.Restart returns nil) and drops it,
// since it stops every child. A stop is what happens anyway.
func (h *handler) stopping(order runtime.Order, path string) string {
	if order != runtime.OrderRestart {
		return ""
	}
	if ended(h.tree) {
		return "" // the order says the tree has ended
	}
	select {
	case <-h.tree.Stopping():
		return "the tree is stopping, and every child with it"
	default:
	}
	for p := parentOf(path); strings.Contains(p, "/"); p = parentOf(p) {
		if h.tree.Handle(p).State() == runtime.StateStopping {
			return "its supervisor " + p + " is stopping, and every child of it with it"
		}
	}
	return ""
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return ""
	}
	return path[:i]
}

// refuse logs a refused order. The path comes from whoever asked, and is
// cut short: a request of a megabyte must not write one to the log.
func (h *handler) refuse(r *http.Request, order runtime.Order, path, why string) {
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "arbor console: order refused", slog.String("path", text.Clip(path, maxLogged)),
		slog.String("order", order.String()), slog.String("remote", r.RemoteAddr), slog.String("why", why))
}

// maxLogged is the longest path from a request that a log line or an
// answer repeats.
const maxLogged = 256

// target reads the child's path from ?path= or from a JSON body
// {"path": "..."}; given both, they must agree.
func target(w http.ResponseWriter, r *http.Request) (string, int, error) {
	paths := r.URL.Query()["path"]
	if len(paths) > 1 {
		return paths[0], http.StatusBadRequest, fmt.Errorf("one child per order: the URL names %d paths", len(paths))
	}
	path := r.URL.Query().Get("path")
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
		var req struct {
			Path string `json:"path"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return path, http.StatusBadRequest, fmt.Errorf(`bad JSON body (want {"path": "..."}): %v`, err)
		}
		if dec.More() {
			return path, http.StatusBadRequest, errors.New(`bad JSON body (want one object {"path": "..."})`)
		}
		switch {
		case path == "":
			path = req.Path
		case req.Path != "" && req.Path != path:
			return path, http.StatusBadRequest, fmt.Errorf("the body names %q and the URL %q", text.Clip(req.Path, maxLogged), text.Clip(path, maxLogged))
		}
	}
	if path == "" {
		return "", http.StatusBadRequest, errors.New("which child? give its path, as ?path=tree/child")
	}
	return path, 0, nil
}
