//go:build ignore

// Scanall prints every key of a server that speaks the Redis protocol, one
// per line, by one full SCAN iteration with the given COUNT: what
// `redis-cli --scan --count N` does from redis-cli 7.2 on, for an older
// redis-cli. bench/listscan.sh builds it when it needs it.
//
//	go run bench/scanall.go -addr 127.0.0.1:6379 -count 1000 | wc -l
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "the server's address")
	count := flag.Int64("count", 1000, "COUNT of each SCAN call")
	flag.Parse()
	if err := run(context.Background(), *addr, *count); err != nil {
		fmt.Fprintln(os.Stderr, "scanall:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, count int64) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "", count).Result()
		if err != nil {
			return err
		}
		for _, k := range keys {
			out.WriteString(k)
			out.WriteByte('\n')
		}
		if next == 0 {
			return out.Flush()
		}
		cursor = next
	}
}
