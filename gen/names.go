package gen

import (
	"go/token"
	"strconv"
	"strings"
	"unicode"
)

// initialisms are written in capitals in Go names, as golint would have them.
var initialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DB": true, "DNS": true,
	"EOF": true, "GRPC": true, "GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true,
	"IO": true, "IP": true, "JSON": true, "LHS": true, "QPS": true, "RAM": true, "RHS": true,
	"RPC": true, "SLA": true, "SMTP": true, "SQL": true, "SSH": true, "TCP": true, "TLS": true,
	"TTL": true, "UDP": true, "UI": true, "UID": true, "URI": true, "URL": true, "UTF8": true,
	"UUID": true, "VM": true, "XML": true, "XMPP": true, "XSRF": true, "XSS": true,
}

// goName turns a spec name into an exported Go name: http-server becomes
// HTTPServer, user_db becomes UserDB.
func goName(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		if up := strings.ToUpper(part); initialisms[up] {
			b.WriteString(up)
			continue
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// lowerCamel turns an exported Go name into an unexported one: DBPool
// becomes dbPool, Pool pool, HTTPServer httpServer.
func lowerCamel(name string) string {
	r := []rune(name)
	// Lower the leading run of capitals, but the one that starts the next word.
	i := 0
	for i < len(r) && unicode.IsUpper(r[i]) {
		i++
	}
	if i > 1 && i < len(r) {
		i--
	}
	for j := 0; j < i; j++ {
		r[j] = unicode.ToLower(r[j])
	}
	return string(r)
}

// paramName turns a type name into a parameter name that is not taken,
// and takes it.
func paramName(typeName string, taken map[string]bool) string {
	base := lowerCamel(typeName)
	if token.IsKeyword(base) || taken[base] {
		base += "Recv"
	}
	return unique(base, taken)
}

// unique returns name, or name followed by the first number from 2 that
// makes it free, and takes it.
func unique(name string, taken map[string]bool) string {
	free := name
	for n := 2; taken[free] || token.IsKeyword(free); n++ {
		free = name + strconv.Itoa(n)
	}
	taken[free] = true
	return free
}
