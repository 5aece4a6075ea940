package etcd_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// server is a real etcd server, embedded in the test: no install, never
// skipped. Stop and start it again to play an outage; it keeps its data
// and its address.
type server struct {
	t      *testing.T
	dir    string
	client string // host:port
	peer   string
	e      *embed.Etcd
}

// freePort returns a port of 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServer(t *testing.T) *server {
	s := &server{t: t, dir: t.TempDir(), client: freePort(t), peer: freePort(t)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = s.dir
	// Short ticks, so that its minimum lease TTL is one second.
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cu := url.URL{Scheme: "http", Host: s.client}
	pu := url.URL{Scheme: "http", Host: s.peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	var err error
	for range 50 { // the port may linger a moment after a stop
		if s.e, err = embed.StartEtcd(cfg); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("etcd: %v", err)
	}
	select {
	case <-s.e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		s.t.Fatal("etcd did not start")
	}
}

func (s *server) stop() {
	if s.e != nil {
		s.e.Close()
		s.e = nil
	}
}

// connect returns a client of the server through addr (the server's own,
// or a proxy's).
func connect(t *testing.T, addr string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{addr},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// proxy forwards TCP connections to a server until it is cut: then it
// closes every connection and refuses new ones, as a network partition
// would. Frozen, it keeps its connections open but holds back what they
// carry, in both directions, until it is thawed: a blackhole, a stalled
// link, or the traffic of a paused process, delivered late.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	thawed *sync.Cond // signalled when frozen or cut changes
	conns  []net.Conn
	cut    bool
	frozen bool
	refuse bool          // new connections, for a while
	delay  time.Duration // added to every chunk each way: a slow link
	dials  int           // connections accepted, refused ones too
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	p.thawed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		l.Close()
		p.sever()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) dialed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dials
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.dials++
		if p.cut || p.refuse {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen && !p.cut {
				p.thawed.Wait()
			}
			delay := p.delay
			p.mu.Unlock()
			time.Sleep(delay)
			if _, err := dst.Write(buf[:n]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// freeze holds back the traffic of the proxy's connections until thaw.
func (p *proxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// slow delays the traffic of the proxy's connections by d each way.
func (p *proxy) slow(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// thaw delivers what freeze held back, and forwards again.
func (p *proxy) thaw() {
	p.mu.Lock()
	p.frozen = false
	p.thawed.Broadcast()
	p.mu.Unlock()
}

// block closes the proxy's connections and refuses new ones until
// unblock: the server is unreachable, and can stop at once.
func (p *proxy) block() {
	p.mu.Lock()
	p.refuse = true
	p.mu.Unlock()
	p.reset()
}

func (p *proxy) unblock() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
}

// reset closes the proxy's connections, as a blip of the network or a
// restarted load balancer would; new ones are forwarded.
func (p *proxy) reset() {
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

// sever cuts the proxy for good.
func (p *proxy) sever() {
	p.mu.Lock()
	p.cut = true
	p.thawed.Broadcast()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

// within fails the test unless cond holds within d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = fmt.Sprint
var _ = context.Background
