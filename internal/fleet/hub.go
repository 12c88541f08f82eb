package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// HubOptions configure an embedded NATS server with JetStream on disk,
// for a small fleet (see docs/FLEET.md for when to run a real cluster).
type HubOptions struct {
	// ConfigFile is a nats-server configuration file (accounts, users and
	// their permissions, TLS, cluster); flags below override it.
	ConfigFile string
	// Name is the server's name, unique in a cluster (default: host name).
	Name string
	// Listen is the client address (default 0.0.0.0:4222).
	Listen string
	// StoreDir holds JetStream's files (default /var/lib/rampart/hub).
	StoreDir string
	// Cluster is the cluster's name; ClusterListen the route address;
	// Routes the other servers' route URLs (nats://host:6222).
	Cluster       string
	ClusterListen string
	Routes        []string
	Log           *slog.Logger
}

// serverOptions builds the nats-server options.
func (o HubOptions) serverOptions() (*server.Options, error) {
	opts := &server.Options{}
	if o.ConfigFile != "" {
		var err error
		opts, err = server.ProcessConfigFile(o.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("fleet hub: %w", err)
		}
	}
	if o.Name != "" {
		opts.ServerName = o.Name
	}
	if o.Listen != "" || opts.Port == 0 {
		l := o.Listen
		if l == "" {
			l = "0.0.0.0:4222"
		}
		host, port, err := splitHostPort(l)
		if err != nil {
			return nil, fmt.Errorf("fleet hub: listen %q: %w", l, err)
		}
		opts.Host, opts.Port = host, port
	}
	opts.JetStream = true
	if o.StoreDir != "" {
		opts.StoreDir = o.StoreDir
	}
	if opts.StoreDir == "" {
		opts.StoreDir = "/var/lib/rampart/hub"
	}
	if o.Cluster != "" {
		opts.Cluster.Name = o.Cluster
	}
	if o.ClusterListen != "" {
		host, port, err := splitHostPort(o.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("fleet hub: cluster listen %q: %w", o.ClusterListen, err)
		}
		opts.Cluster.Host, opts.Cluster.Port = host, port
	}
	if len(o.Routes) > 0 {
		opts.Routes = server.RoutesFromStr(strings.Join(o.Routes, ","))
	}
	if opts.Cluster.Port != 0 && opts.Cluster.Name == "" {
		return nil, errors.New("fleet hub: a cluster needs a name (--cluster)")
	}
	opts.NoSigs = true
	return opts, nil
}

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number in 0..65535", p)
	}
	return host, port, nil
}

// Hub is a started embedded NATS server.
type Hub struct {
	srv *server.Server
}

// StartHub starts the server and waits until it accepts clients.
func StartHub(o HubOptions) (*Hub, error) {
	opts, err := o.serverOptions()
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("fleet hub: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	srv.SetLoggerV2(natsLogger{log}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("fleet hub: the server did not get ready within 30s (see its log above)")
	}
	return &Hub{srv: srv}, nil
}

// ClientURL returns the URL clients connect to.
func (h *Hub) ClientURL() string { return h.srv.ClientURL() }

// Run serves until ctx is done, then shuts the server down; clients of a
// cluster reconnect to the other servers.
func (h *Hub) Run(ctx context.Context) {
	<-ctx.Done()
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
}

// natsLogger writes the server's log lines through slog.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) {
	l.log.Info("nats-server", "msg", fmt.Sprintf(format, v...))
}
func (l natsLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats-server", "msg", fmt.Sprintf(format, v...))
}
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats-server fatal", "msg", fmt.Sprintf(format, v...))
}
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error("nats-server", "msg", fmt.Sprintf(format, v...))
}
func (l natsLogger) Debugf(format string, v ...any) {
	l.log.Debug("nats-server", "msg", fmt.Sprintf(format, v...))
}
func (l natsLogger) Tracef(format string, v ...any) {
	l.log.Debug("nats-server trace", "msg", fmt.Sprintf(format, v...))
}
