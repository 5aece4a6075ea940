package runtime

import (
	"testing"
	"testing/synctest"
)

func msgN(kind msgKind, n uint64) message { return message{kind: kind, gen: n, slot: &slot{}} }

// TestMailboxOrder checks that messages come out in the order they went
// in, across batches and after some were put back, also when the buffer
// they were put back from is reused at once.
func TestMailboxOrder(t *testing.T) {
	b := newMailbox()
	done := make(chan struct{})
	for i := range uint64(100) {
		if !b.post(done, msgN(msgExit, i)) {
			t.Fatal("post failed with done open")
		}
	}
	var buf [drainBatch]message
	var got []uint64
	n := b.take(buf[:])
	for _, m := range buf[:10] {
		got = append(got, m.gen)
	}
	b.unread(buf[10:n]) // as drain does when the run is over
	for n := b.take(buf[:]); n > 0; n = b.take(buf[:]) {
		for _, m := range buf[:n] {
			if m.slot == nil {
				t.Fatal("a message came out empty")
			}
			got = append(got, m.gen)
		}
	}
	for i, g := range got {
		if g != uint64(i) {
			t.Fatalf("message %d came out as %d: %v", i, g, got)
		}
	}
	if len(got) != 100 {
		t.Fatalf("%d messages came out, want 100", len(got))
	}
	// The last batch put back alone: unread must not keep the buffer.
	b.post(done, msgN(msgExit, 1))
	n = b.take(buf[:])
	b.unread(buf[:n])
	n = b.take(buf[:])
	if n != 1 || buf[0].gen != 1 || buf[0].slot == nil {
		t.Fatalf("after unread of a whole batch: n=%d %+v", n, buf[0])
	}
}

// TestMailboxFull checks that orders wait while the box is full and go in
// once the run takes some, that what attempts report never waits, and that
// a waiting sender gives up when its run ends.
func TestMailboxFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newMailbox()
		done := make(chan struct{})
		for i := range uint64(mailboxCap) {
			b.post(done, msgN(msgStop, i))
		}
		if !b.post(done, msgN(msgExit, 0)) {
			t.Fatal("an exit was refused by a full box")
		}
		posted := make(chan bool, 1)
		go func() { posted <- b.post(done, msgN(msgStop, 0)) }()
		synctest.Wait()
		if len(posted) != 0 {
			t.Fatal("an order went into a full box")
		}
		var buf [drainBatch]message
		b.take(buf[:])
		if !<-posted {
			t.Fatal("the order was refused once there was room")
		}
		// Full again; the run ends while a sender waits.
		for len(b.msgs)-b.head < mailboxCap {
			b.post(done, msgN(msgExit, 0))
		}
		go func() { posted <- b.post(done, msgN(msgStop, 0)) }()
		synctest.Wait()
		close(done)
		b.release()
		if <-posted {
			t.Fatal("an order went in after its run ended")
		}
	})
}

// TestMailboxShrinks checks that a burst's buffer is let go once taken.
func TestMailboxShrinks(t *testing.T) {
	b := newMailbox()
	done := make(chan struct{})
	for i := range uint64(10 * mailboxCap) {
		b.post(done, msgN(msgExit, i))
	}
	var buf [drainBatch]message
	for b.take(buf[:]) > 0 {
	}
	if cap(b.msgs) > 4*mailboxCap {
		t.Fatalf("the box keeps %d slots after a burst", cap(b.msgs))
	}
}
