package gen

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"db": "DB", "api": "API", "http-server": "HTTPServer", "user_db": "UserDB",
		"fetch": "Fetch", "log-2": "Log2", "a--b": "AB", "id": "ID", "type": "Type",
		"json_rpc_v2": "JSONRPCV2", "shop": "Shop",
	} {
		assert.Equal(t, want, goName(in), in)
	}
}

func TestParamName(t *testing.T) {
	taken := map[string]bool{"opts": true, "store": true}
	assert.Equal(t, "pool", paramName("Pool", taken))
	assert.Equal(t, "dbPool", paramName("DBPool", taken))
	assert.Equal(t, "db", paramName("DB", taken))
	assert.Equal(t, "storeRecv", paramName("Store", taken), "shadows an imported package")
	assert.Equal(t, "typeRecv", paramName("Type", taken), "a keyword")
	assert.Equal(t, "poolRecv", paramName("Pool", taken), "a second type of the same name")
}
