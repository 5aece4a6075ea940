package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/internal/text"
)

// streamChunk is how many events a stream reads and writes at once, so
// that a catch-up on a large journal is many bounded writes, not one that
// holds every missed event.
const streamChunk = 256

// events answers GET /api/events: JSON, or a stream when the client
// accepts one.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	after, err := h.after(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if acceptsStream(r) {
		h.stream(w, r, after)
		return
	}
	latest := h.tree.LastEvent()
	if r.Header.Get("Last-Event-ID") == "" && !r.URL.Query().Has("after") && latest > MaxEvents {
		after = latest - MaxEvents // a bare request: the latest events, as tail gives them
	}
	evs, missed := h.tree.JournalN(after, MaxEvents)
	out := Events{Missed: missed, LastEvent: after, Latest: latest}
	if len(evs) > 0 {
		out.LastEvent = evs[len(evs)-1].Seq
	} else if missed > 0 {
		out.LastEvent = after + missed // the journal keeps none
	}
	out.Latest = max(out.Latest, out.LastEvent)
	out.More = out.Latest > out.LastEvent
	writeEvents(w, evs, out)
}

// writeEvents answers out, with evs as its Events, as writeJSON would,
// but an event at a time: a client that stopped reading holds one event
// of the answer, not all of them made into JSON (megabytes, with long
// errors).
func writeEvents(w http.ResponseWriter, evs []runtime.Event, out Events) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	// The fields before and after the events, as the encoder writes them.
	out.Events = []Event{}
	whole, _ := json.MarshalIndent(out, "", "  ")
	head, tail, _ := bytes.Cut(whole, []byte("[]"))
	buf := append([]byte(nil), head...)
	buf = append(buf, '[')
	for i, e := range evs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n    "...)
		data, _ := json.MarshalIndent(event(e), "    ", "  ")
		buf = append(buf, data...)
		if _, err := w.Write(buf); err != nil {
			return
		}
		buf = buf[:0]
	}
	if len(evs) > 0 {
		buf = append(buf, "\n  "...)
	}
	buf = append(append(append(buf, ']'), tail...), '\n')
	w.Write(buf)
}

// after reads where the client wants events from: Last-Event-ID, set by
// EventSource when it reconnects, or else ?after=. A number beyond the
// latest event comes from an earlier run of the program: the client gets
// the whole journal, and a gap.
func (h *handler) after(r *http.Request) (uint64, error) {
	q, err := query(r, "after")
	if err != nil {
		return 0, err
	}
	v, name := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if v == "" {
		if !q.Has("after") {
			return 0, nil
		}
		v, name = q.Get("after"), "after"
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an event number", name, text.Clip(v, maxLogged))
	}
	if n > h.tree.LastEvent() {
		return 0, nil
	}
	return n, nil
}

// acceptsStream reports whether the request asks for text/event-stream.
func acceptsStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == "text/event-stream" {
			return true
		}
	}
	return false
}

// stream sends the events after after, then each new one, until the client
// goes away or the tree's Run has returned.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, after uint64) {
	if !canFlush(w) {
		// Nothing would reach the client before the stream's end, and a
		// browser would reconnect for ever.
		fail(w, http.StatusInternalServerError, "the event stream needs a ResponseWriter that flushes: a middleware in front of the console hides it "+
			"(its writer should implement http.Flusher, or Unwrap to one); GET /api/events without Accept: text/event-stream works")
		return
	}
	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("X-Accel-Buffering", "no") // for a proxy in front
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	defer rc.SetWriteDeadline(time.Time{}) // for the connection's next request
	// write writes b, giving up on a client that has not taken it within
	// h.stall. A writer without deadlines (one wrapped by a middleware) is
	// written to without.
	write := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(h.stall))
		_, err := w.Write(b)
		return err == nil
	}
	// send writes s and flushes it.
	send := func(s string) bool {
		return write([]byte(s)) && rc.Flush() == nil
	}
	// Now, so that the client knows it is connected even when it is up to
	// date and nothing happens; and which run it follows, for a page,
	// which cannot read RunHeader from an EventSource: one that resumed
	// with Last-Event-ID from another run would skip this run's first
	// events, and must ask again from the first.
	run, _ := json.Marshal(Run{Run: h.run})
	if !send("retry: 2000\n\nevent: run\ndata: " + string(run) + "\n\n") {
		return
	}
	var msg []byte // the message being written, its buffer reused
	ticker := time.NewTicker(h.keepAlive)
	defer ticker.Stop()
	ended := h.tree.Done()
	for {
		// Read what is there, send it, then wait for more.
		// Each message is written as it is made, so that a client that
		// stopped reading holds one message, not a page of them.
		wait := h.tree.JournalWait(after)
		evs, missed := h.tree.JournalN(after, streamChunk)
		if missed > 0 {
			data, _ := json.Marshal(Gap{Missed: missed})
			if !write(fmt.Appendf(msg[:0], "event: gap\ndata: %s\n\n", data)) {
				return
			}
		}
		for _, e := range evs {
			data, _ := json.Marshal(event(e))
			msg = append(fmt.Appendf(msg[:0], "id: %d\ndata: ", e.Seq), data...)
			if !write(append(msg, "\n\n"...)) {
				return
			}
			after = e.Seq
		}
		if missed > 0 && len(evs) == 0 {
			after += missed // the journal keeps none
		}
		if missed > 0 || len(evs) > 0 {
			if rc.Flush() != nil {
				return
			}
			continue // until nothing is new
		}
		select {
		case <-wait:
		case <-ended:
			if h.tree.LastEvent() > after {
				continue // the last events first
			}
			send("event: end\ndata: {}\n\n")
			return
		case <-ticker.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// canFlush reports whether w, or a writer it unwraps to (as
// http.ResponseController does), can flush.
func canFlush(w http.ResponseWriter) bool {
	for {
		switch x := w.(type) {
		case http.Flusher, interface{ FlushError() error }:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return false
		}
	}
}
