package raftlog

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"everysec", func(c *Config) { c.Sync = SyncEverySec }, true},
		{"unknown sync mode", func(c *Config) { c.Sync = 7 }, false},
		{"negative sync mode", func(c *Config) { c.Sync = -1 }, false},
		{"zero segment size", func(c *Config) { c.SegmentSize = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if got := err == nil; got != tt.ok {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want %v", err, ErrConfig)
			}
			s, err := OpenShared(t.TempDir(), cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("OpenShared: got %v, want ok %v", err, tt.ok)
			}
			if s != nil {
				mustCloseShared(t, s)
			}
		})
	}
}

func TestParseSyncMode(t *testing.T) {
	tests := []struct {
		in   string
		want SyncMode
		ok   bool
	}{
		{"always", SyncAlways, true},
		{"everysec", SyncEverySec, true},
		{"no", SyncNever, true},
		{"ALWAYS", SyncAlways, true},
		{"never", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSyncMode(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %v, %v, want %v, ok %v", got, err, tt.want, tt.ok)
			}
			if tt.ok && got.String() != strings.ToLower(tt.in) {
				t.Fatalf("got String %q, want %q", got.String(), strings.ToLower(tt.in))
			}
		})
	}
}
