package config

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
)

// Log levels by Redis's names: verbose lies between debug and info.
var redisLevels = []struct {
	name  string
	level slog.Level
}{
	{"debug", slog.LevelDebug},
	{"verbose", slog.LevelDebug + 2},
	{"notice", slog.LevelInfo},
	{"warning", slog.LevelWarn},
}

// LogLevelParam returns loglevel: Redis's debug, verbose, notice and
// warning, mapped onto slog's levels, kept in the field returns. The
// --log-level names info, warn and error are accepted too; CONFIG GET
// reports error as warning, the closest of Redis's names.
func LogLevelParam[T any](field func(*T) *slog.Level) Param[T] {
	names := make([]string, len(redisLevels))
	for i, l := range redisLevels {
		names[i] = l.name
	}
	return Param[T]{
		Name: "loglevel", Aliases: []string{"log-level"}, Kind: Enum,
		Get: func(t *T) string {
			name := redisLevels[0].name
			for _, l := range redisLevels {
				if *field(t) >= l.level {
					name = l.name
				}
			}
			return name
		},
		Set: func(t *T, v string) error {
			switch strings.ToLower(v) {
			case "info":
				*field(t) = slog.LevelInfo
				return nil
			case "warn":
				*field(t) = slog.LevelWarn
				return nil
			case "error":
				*field(t) = slog.LevelError
				return nil
			}
			i, err := ParseEnum(v, names)
			if err == nil {
				*field(t) = redisLevels[i].level
			}
			return err
		},
	}
}

// CollectionParams returns the collection limits (object.Limits, in the
// field returns) as parameters, with the names Redis 7 accepts for them:
// the ziplist ones are aliases. The ranges are Redis's.
func CollectionParams[T any](field func(*T) *object.Limits) []Param[T] {
	lim := func(name string, lo, hi int64, f func(*object.Limits) *int64) Param[T] {
		return IntParam(name, lo, hi, func(t *T) *int64 { return f(field(t)) })
	}
	mem := func(name string, f func(*object.Limits) *int64) Param[T] {
		return MemoryParam(name, 0, math.MaxInt64, func(t *T) *int64 { return f(field(t)) })
	}
	return []Param[T]{
		lim("hash-max-listpack-entries", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.HashMaxListpackEntries }).WithAliases("hash-max-ziplist-entries"),
		lim("hash-max-listpack-value", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.HashMaxListpackValue }).WithAliases("hash-max-ziplist-value"),
		lim("set-max-intset-entries", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.SetMaxIntsetEntries }),
		lim("set-max-listpack-entries", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.SetMaxListpackEntries }),
		lim("set-max-listpack-value", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.SetMaxListpackValue }),
		lim("zset-max-listpack-entries", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.ZSetMaxListpackEntries }).WithAliases("zset-max-ziplist-entries"),
		lim("zset-max-listpack-value", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.ZSetMaxListpackValue }).WithAliases("zset-max-ziplist-value"),
		lim("list-max-listpack-size", math.MinInt32, math.MaxInt32, func(l *object.Limits) *int64 { return &l.ListMaxListpackSize }).WithAliases("list-max-ziplist-size"),
		lim("list-compress-depth", 0, math.MaxInt32, func(l *object.Limits) *int64 { return &l.ListCompressDepth }),
		mem("stream-node-max-bytes", func(l *object.Limits) *int64 { return &l.StreamNodeMaxBytes }),
		lim("stream-node-max-entries", 0, math.MaxInt64, func(l *object.Limits) *int64 { return &l.StreamNodeMaxEntries }),
		mem("hll-sparse-max-bytes", func(l *object.Limits) *int64 { return &l.HLLSparseMaxBytes }),
	}
}

// OutputLimit is one class of client-output-buffer-limit: its hard and
// soft limits in bytes (0: none) and the seconds a client may stay over the
// soft one.
type OutputLimit struct {
	Class      string // normal, replica or pubsub; slave is read as replica
	Hard, Soft int64
	Seconds    int64
}

// Errors of ParseOutputLimits, Redis's texts.
var (
	ErrLimitArgs  = errors.New("Wrong number of arguments in buffer limit configuration.")                   //lint:ignore ST1005 Redis's text
	ErrLimitClass = errors.New("Invalid client class specified in buffer limit configuration.")              //lint:ignore ST1005 Redis's text
	ErrLimitValue = errors.New("Error in hard, soft or soft_seconds setting in buffer limit configuration.") //lint:ignore ST1005 Redis's text
)

// ParseOutputLimits parses client-output-buffer-limit as Redis does: "class
// hard soft seconds", once or more, the sizes being memory values.
func ParseOutputLimits(v string) ([]OutputLimit, error) {
	f := strings.Fields(v)
	if len(f) == 0 || len(f)%4 != 0 {
		return nil, ErrLimitArgs
	}
	var out []OutputLimit
	for i := 0; i < len(f); i += 4 {
		class := strings.ToLower(f[i])
		switch class {
		case "normal", "replica", "pubsub":
		case "slave":
			class = "replica"
		default:
			return nil, ErrLimitClass
		}
		hard, ok1 := MemToUint(f[i+1])
		soft, ok2 := MemToUint(f[i+2])
		secs, err := strconv.ParseInt(f[i+3], 10, 64)
		if !ok1 || !ok2 || err != nil || secs < 0 || hard > MaxBytes || soft > MaxBytes {
			return nil, ErrLimitValue
		}
		out = append(out, OutputLimit{Class: class, Hard: int64(hard), Soft: int64(soft), Seconds: min(secs, math.MaxInt32)})
	}
	return out, nil
}

// FormatOutputLimits writes client-output-buffer-limit as CONFIG GET
// reports it: the normal class, the replica class at Redis's default (there
// are no replicas to bound), and the pubsub class.
func FormatOutputLimits(normal, pubsub OutputLimit) string {
	f := func(l OutputLimit) string {
		return strconv.FormatInt(l.Hard, 10) + " " + strconv.FormatInt(l.Soft, 10) + " " + strconv.FormatInt(l.Seconds, 10)
	}
	return "normal " + f(normal) + " slave 268435456 67108864 60 pubsub " + f(pubsub)
}

// BusyThresholdParam returns busy-reply-threshold (alias lua-time-limit):
// how long a script runs before it counts as busy, kept in the field
// returns and written in milliseconds, as Redis gives it.
func BusyThresholdParam[T any](field func(*T) *time.Duration) Param[T] {
	return Param[T]{
		Name: "busy-reply-threshold", Kind: Int,
		Get: func(t *T) string { return strconv.FormatInt(field(t).Milliseconds(), 10) },
		Set: func(t *T, v string) error {
			n, err := ParseInt(v, 0, math.MaxInt64)
			if err == nil {
				*field(t) = time.Duration(min(n, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
			}
			return err
		},
	}.WithAliases("lua-time-limit")
}

// policyNames are the maxmemory policies in the order Redis lists them.
var policyNames = []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}

// MaxMemoryParams are maxmemory, maxmemory-policy and maxmemory-samples.
// A maxmemory beyond MaxBytes is taken as MaxBytes rather than refused:
// it is an unsigned 64-bit number in Redis, where any memory value fits.
func MaxMemoryParams[T any](mem func(*T) *int64, policy func(*T) *keyspace.Policy, samples func(*T) *int) []Param[T] {
	return []Param[T]{
		{
			Name: "maxmemory", Kind: Memory,
			Get: func(t *T) string { return strconv.FormatInt(*mem(t), 10) },
			Set: func(t *T, v string) error {
				u, ok := MemToUint(v)
				if !ok {
					return ErrMemory
				}
				*mem(t) = int64(min(u, uint64(MaxBytes)))
				return nil
			},
		},
		{
			Name: "maxmemory-policy", Kind: Enum,
			Get: func(t *T) string { return policy(t).String() },
			Set: func(t *T, v string) error {
				i, err := ParseEnum(v, policyNames)
				if err == nil {
					*policy(t), _ = keyspace.ParsePolicy(policyNames[i])
				}
				return err
			},
		},
		IntParam("maxmemory-samples", 1, 64, samples),
	}
}
