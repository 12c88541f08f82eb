package fleet

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// testCluster is a real NATS cluster of in-process servers (the
// nats-server module), JetStream on disk, with the fleet accounts.
type testCluster struct {
	t       testing.TB
	dir     string
	conf    string
	ports   []int // client ports
	routes  []int // route ports
	servers []*server.Server
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster runs n servers in one cluster with a user per node.
func startCluster(t testing.TB, dir string, n int, nodes ...string) *testCluster {
	t.Helper()
	var users []string
	for _, nd := range nodes {
		users = append(users, nodeUser(nd, "pw-"+nd))
	}
	c := &testCluster{t: t, dir: dir, conf: filepath.Join(dir, "nats.conf"), servers: make([]*server.Server, n)}
	if err := os.WriteFile(c.conf, []byte(fmt.Sprintf(natsAccounts, strings.Join(users, ",\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	for range n {
		c.ports = append(c.ports, freePort(t))
		c.routes = append(c.routes, freePort(t))
	}
	for i := range n {
		c.start(i)
	}
	for i := range n {
		c.waitReady(i)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return c
}

// start starts server i (again, after a kill: its store is kept).
func (c *testCluster) start(i int) {
	c.t.Helper()
	opts, err := server.ProcessConfigFile(c.conf)
	if err != nil {
		c.t.Fatal(err)
	}
	opts.ServerName = fmt.Sprintf("n%d", i+1)
	opts.Host, opts.Port = "127.0.0.1", c.ports[i]
	opts.JetStream, opts.StoreDir, opts.NoSigs = true, filepath.Join(c.dir, opts.ServerName), true
	opts.Cluster.Name, opts.Cluster.Host, opts.Cluster.Port = "rampart", "127.0.0.1", c.routes[i]
	var routes []string
	for j, p := range c.routes {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
		}
	}
	opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
	s, err := server.NewServer(opts)
	if err != nil {
		c.t.Fatal(err)
	}
	s.Start()
	c.servers[i] = s
}

func (c *testCluster) waitReady(i int) {
	c.t.Helper()
	if !c.servers[i].ReadyForConnections(20 * time.Second) {
		c.t.Fatalf("nats server n%d did not start", i+1)
	}
}

// kill shuts server i down at once (its clients reconnect elsewhere).
func (c *testCluster) kill(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// urls lists every server's client URL.
func (c *testCluster) urls() []string {
	var out []string
	for _, p := range c.ports {
		out = append(out, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	return out
}

func testLog() *slog.Logger {
	if os.Getenv("RAMPART_FLEET_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}
