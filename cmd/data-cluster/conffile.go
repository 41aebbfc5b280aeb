package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/cluster"
	"github.com/data-cluster/data-cluster/internal/config"
	"github.com/data-cluster/data-cluster/internal/server"
)

// redisNames maps the Redis name of a setting to the flag that holds it,
// where the two differ. A configuration file may use either.
var redisNames = map[string]string{
	"maxclients":     "max-clients",
	"appendfsync":    "fsync",
	"loglevel":       "log-level",
	"lua-time-limit": "busy-reply-threshold",
}

// param is a directive of the configuration file that is not a flag: a
// parameter of the server's CONFIG table (the collection limits), applied
// once the server's configuration is built.
type param struct {
	name, value string
	where       string
}

// readConfigFile sets from the file at path every flag that neither the
// command line nor the environment set (skip), so that the file comes last:
// file < environment < flags. A directive names a flag, the Redis name
// of one (redisNames), or, for the settings that have no flag, a parameter
// of CONFIG SET, returned for apply to set. Errors name the file and line.
// Each flag set is recorded in s as "name (file:line)", so that a value
// rejected later is reported where it was written.
func (s source) readConfigFile(fs *flag.FlagSet, path string, skip map[string]bool) ([]param, error) {
	ds, err := config.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var extra []param
	for _, d := range ds {
		set := func(flagName, value string) error {
			if skip[flagName] {
				return nil
			}
			if b, ok := fs.Lookup(flagName).Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				// A boolean flag takes yes and no, as Redis writes them.
				if v, err := config.ParseBool(value); err == nil {
					value = strconv.FormatBool(v)
				}
			}
			if err := fs.Set(flagName, value); err != nil {
				return fmt.Errorf("%s: invalid value %q for %s: %v", d.Where(), value, d.Name, err)
			}
			s[flagName] = fmt.Sprintf("%s (%s)", d.Name, d.Where())
			return nil
		}
		name := d.Name
		if n, ok := redisNames[name]; ok {
			name = n
		}
		switch {
		case name == "config":
			return nil, fmt.Errorf("%s: config cannot be set in a configuration file", d.Where())
		case name == "client-output-buffer-limit" && len(d.Args) > 1:
			err = setOutputLimits(d, set)
		case fs.Lookup(name) != nil:
			err = set(name, d.Value())
		default:
			if err := server.CheckParam(d.Name, d.Value()); err != nil {
				return nil, fmt.Errorf("%s: %v", d.Where(), err)
			}
			extra = append(extra, param{d.Name, d.Value(), d.Where()})
		}
		if err != nil {
			return nil, err
		}
	}
	return extra, nil
}

// checkClusterParams checks the file's parameters that are not flags
// against a cluster node's, for a node.
func checkClusterParams(ps []param) error {
	for _, p := range ps {
		if err := cluster.CheckParam(p.name, p.value); err != nil {
			return fmt.Errorf("%s: %v", p.where, err)
		}
	}
	return nil
}

// setOutputLimits sets client-output-buffer-limit written as Redis writes
// it, "class hard soft seconds" once or more: the normal class's hard limit
// is --client-output-buffer-limit (0 for none), the pubsub class is
// --client-output-buffer-limit-pubsub, and the replica class is ignored, as
// there are no replicas.
func setOutputLimits(d config.Directive, set func(flag, value string) error) error {
	if len(d.Args)%4 != 0 {
		return fmt.Errorf("%s: client-output-buffer-limit: want class hard soft seconds, once or more", d.Where())
	}
	for i := 0; i < len(d.Args); i += 4 {
		g := d.Args[i : i+4]
		var err error
		switch strings.ToLower(g[0]) {
		case "normal":
			if g[2] != "0" || g[3] != "0" {
				return fmt.Errorf("%s: client-output-buffer-limit: the normal class has a hard limit only: soft and seconds must be 0", d.Where())
			}
			err = set("client-output-buffer-limit", g[1])
		case "pubsub":
			err = set("client-output-buffer-limit-pubsub", strings.Join(g[1:], " "))
		case "replica", "slave":
		default:
			return fmt.Errorf("%s: client-output-buffer-limit: unknown class %q: want normal, replica or pubsub", d.Where(), g[0])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyParams sets the parameters of the configuration file that are not
// flags on cfg.
func applyParams(cfg *server.Config, ps []param) error {
	for _, p := range ps {
		if err := server.SetParam(cfg, p.name, p.value); err != nil {
			return fmt.Errorf("%s: %v", p.where, err)
		}
	}
	return nil
}

// configPath returns the configuration file's absolute path, for CONFIG
// REWRITE, or "" without one.
func configPath(path string) string {
	if path == "" {
		return ""
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
