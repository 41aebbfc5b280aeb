package resp_test

import (
	"fmt"

	"github.com/data-cluster/data-cluster/internal/resp"
)

func ExampleReadCommand() {
	// Two whole requests, the first half of a third.
	buf := []byte("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n*1\r\n$4\r\nPI")
	lim := resp.DefaultLimits()
	var args [][]byte
	for {
		var n int
		var err error
		args, n, err = resp.ReadCommand(buf, args[:0], lim)
		if err != nil {
			fmt.Println("-ERR " + err.Error())
			return
		}
		if n == 0 {
			fmt.Printf("waiting: have %d bytes, need %d\n", len(buf), resp.Need(buf, lim))
			return
		}
		fmt.Printf("%q\n", args)
		buf = buf[n:]
	}
	// Output:
	// ["GET" "key"]
	// ["PING"]
	// waiting: have 10 bytes, need 14
}

func ExampleReadCommand_error() {
	_, _, err := resp.ReadCommand([]byte("*1\r\n$-5\r\n"), nil, resp.DefaultLimits())
	fmt.Println("-ERR " + err.Error())
	// Output:
	// -ERR Protocol error: invalid bulk length
}

func ExampleWriter() {
	var w resp.Writer
	w.AppendMap(1)
	w.AppendBulkString("proto")
	w.AppendInt(int64(w.Proto()))
	fmt.Printf("%q\n", w.Bytes())

	w.Reset()
	w.SetProto(3)
	w.AppendMap(1)
	w.AppendBulkString("score")
	w.AppendDouble(1.5)
	fmt.Printf("%q\n", w.Bytes())
	// Output:
	// "*2\r\n$5\r\nproto\r\n:2\r\n"
	// "%1\r\n$5\r\nscore\r\n,1.5\r\n"
}
