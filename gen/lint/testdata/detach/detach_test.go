package detach

import (
	"context"
	"testing"
)

func TestSpawn(t *testing.T) {
	if err := Spawn(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}
