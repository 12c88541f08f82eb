package config

import (
	"bytes"
	"encoding/json"

	"github.com/BurntSushi/toml"
)

// file returns the configuration as written in a file, one table per
// section in the order sections lists them, so that `rampart config show`
// prints a file rampart can load again.
func (c *Config) file() any {
	var fields []field
	for _, s := range sections() {
		if v := s.show(c); v != nil {
			fields = append(fields, field{name: s.name(), val: v})
		}
	}
	return table(fields)
}

// TOML renders the effective configuration as a complete TOML file that
// Load accepts and that yields the same configuration.
func (c *Config) TOML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# rampart effective configuration, from:\n")
	for _, f := range c.Files {
		b.WriteString("#   " + f + "\n")
	}
	b.WriteString("\n")
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(c.file()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// JSON renders the effective configuration with the file's key names.
func (c *Config) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(c.file(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
