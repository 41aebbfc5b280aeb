package bench

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"line", func(c *Config) { c.Protocol = Line }, ""},
		{"duration instead of requests", func(c *Config) { c.Duration = time.Second; c.Requests = 0 }, ""},
		{"bounds", func(c *Config) {
			c.Clients, c.Pipeline, c.Keyspace, c.ReadPercent = MaxClients, MaxPipeline, MaxKeyspace, 100
		}, ""},
		{"largest line value", func(c *Config) { c.Protocol = Line; c.ValueSize = maxLineLength - lineOverhead }, ""},
		{"any value size when line only reads", func(c *Config) { c.Protocol = Line; c.ValueSize = 1 << 20; c.ReadPercent = 100 }, ""},
		{"addr", func(c *Config) { c.Addr = "nohostport" }, "--addr"},
		{"protocol", func(c *Config) { c.Protocol = "http" }, `invalid value "http" for --protocol`},
		{"clients 0", func(c *Config) { c.Clients = 0 }, "invalid value 0 for --clients: must be between 1 and 10000"},
		{"clients too many", func(c *Config) { c.Clients = MaxClients + 1 }, "--clients"},
		{"pipeline 0", func(c *Config) { c.Pipeline = 0 }, "--pipeline"},
		{"pipeline too deep", func(c *Config) { c.Pipeline = MaxPipeline + 1 }, "--pipeline"},
		{"requests 0", func(c *Config) { c.Requests = 0 }, "invalid value 0 for --requests"},
		{"requests negative", func(c *Config) { c.Requests = -5 }, "--requests"},
		{"keyspace 0", func(c *Config) { c.Keyspace = 0 }, "--keyspace"},
		{"keyspace beyond 12 digits", func(c *Config) { c.Keyspace = MaxKeyspace + 1 }, "--keyspace"},
		{"value size 0", func(c *Config) { c.ValueSize = 0 }, "--value-size"},
		{"value size too large", func(c *Config) { c.ValueSize = MaxValueSize + 1 }, "--value-size"},
		{"line value too long", func(c *Config) { c.Protocol = Line; c.ValueSize = maxLineLength - lineOverhead + 1 }, "the line protocol takes values up to 65515 bytes"},
		{"read percent negative", func(c *Config) { c.ReadPercent = -1 }, "--read-percent"},
		{"read percent over 100", func(c *Config) { c.ReadPercent = 101 }, "--read-percent"},
		{"duration negative", func(c *Config) { c.Duration = -time.Second }, "--duration"},
		{"duration too long", func(c *Config) { c.Duration = 25 * time.Hour }, "--duration"},
		{"no progress interval", func(c *Config) { c.ProgressInterval = 0 }, "ProgressInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
