package fleet

import (
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// authOptions reads the credentials and TLS files the configuration names.
// A file that cannot be read is an error now, not a reconnect loop.
func (c Config) authOptions() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case c.PasswordFile != "":
		pw, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: password_file: %w", err)
		}
		opts = append(opts, nats.UserInfo(c.User, strings.TrimSpace(string(pw))))
	case c.CredsFile != "":
		if _, err := os.Stat(c.CredsFile); err != nil {
			return nil, fmt.Errorf("fleet: creds_file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: nkey_file: %w", err)
		}
		opts = append(opts, o)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, ""))
	}
	if c.CA != "" {
		opts = append(opts, nats.RootCAs(c.CA))
	}
	if c.Cert != "" {
		opts = append(opts, nats.ClientCert(c.Cert, c.Key))
	}
	return opts, nil
}
