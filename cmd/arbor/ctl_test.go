package main

import (
	"testing"
)

func TestConsoleURL(t *testing.T) {
	for _, c := range []struct{ addr, want, err string }{
		{"127.0.0.1:8090", "http://127.0.0.1:8090/", ""},
		{"localhost:8090/", "http://localhost:8090/", ""},
		{"http://host:8090", "http://host:8090/", ""},
		{"https://host/arbor", "https://host/arbor/", ""},
		{"http://host/arbor/?x=1#y", "http://host/arbor/", ""},
		{"", "", "no address: pass -addr (such as 127.0.0.1:8090) or set ARBOR_ADDR"},
		{"ftp://host", "", `bad address "ftp://host": want host:port or an http:// or https:// URL`},
		{"http://", "", `bad address "http://": want host:port or an http:// or https:// URL`},
		{"http://host:port:x", "", `bad address "http://host:port:x"`},
	} {
		u, err := consoleURL(c.addr)
		if c.err != "" {
			if err == nil || len(err.Error()) < len(c.err) || err.Error()[:len(c.err)] != c.err {
				t.Errorf("consoleURL(%q) = %v, %v; want error %q", c.addr, u, err, c.err)
			}
			continue
		}
		if err != nil || u.String() != c.want {
			t.Errorf("consoleURL(%q) = %v, %v; want %s", c.addr, u, err, c.want)
		}
	}
}
