package pubsub

import (
	"slices"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Subs is one connection's subscriptions, and what (un)subscribing
// replies. It belongs to the connection's goroutine.
//
// A subscription is made in the hub only by Start, which the connection
// calls once the reply is queued before any message (in its Outbox), so
// that no message overtakes the reply; an unsubscription is made at once,
// before its reply, so that no message follows it.
type Subs struct {
	sets     [3]map[string]struct{}
	starting []pending
}

type pending struct {
	kind Kind
	name string
}

var verbs = [3][2]string{{"subscribe", "unsubscribe"}, {"psubscribe", "punsubscribe"}, {"ssubscribe", "sunsubscribe"}}

// Active reports whether there is any subscription, which in RESP2
// restricts the connection's commands (Allowed).
func (s *Subs) Active() bool {
	return len(s.sets[Channel])+len(s.sets[Pattern])+len(s.sets[Shard]) > 0
}

// Counts returns the number of channels, patterns and shard channels.
func (s *Subs) Counts() [3]int {
	return [3]int{len(s.sets[Channel]), len(s.sets[Pattern]), len(s.sets[Shard])}
}

// Each calls fn for every subscription, of every kind, until fn returns
// false.
func (s *Subs) Each(fn func(k Kind, name string) bool) {
	for k := range s.sets {
		for name := range s.sets[k] {
			if !fn(Kind(k), name) {
				return
			}
		}
	}
}

// Pending reports whether subscriptions wait for Start.
func (s *Subs) Pending() bool { return len(s.starting) > 0 }

// count is the count a reply carries: channels and patterns, or shard
// channels, as Redis 7.0 counts them.
func (s *Subs) count(k Kind) int {
	if k == Shard {
		return len(s.sets[Shard])
	}
	return len(s.sets[Channel]) + len(s.sets[Pattern])
}

// Allowed reports whether a RESP2 connection with subscriptions may run
// the command name, as Redis.
func Allowed(name string) bool {
	switch name {
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// NotAllowed is the error a RESP2 subscribed connection gets for name.
func NotAllowed(name string) string {
	return "ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
}

// AppendPong writes PING's reply in RESP2's subscribed mode: an array of
// "pong" and the argument, or "".
func AppendPong(w *resp.Writer, args [][]byte) {
	w.AppendArray(2)
	w.AppendBulkString("pong")
	if len(args) == 2 {
		w.AppendBulk(args[1])
	} else {
		w.AppendBulkString("")
	}
}

func appendReply(w *resp.Writer, verb string, name []byte, count int) {
	if w.Proto() > 2 {
		w.AppendPush(3)
	} else {
		w.AppendArray(3)
	}
	w.AppendBulkString(verb)
	if name == nil {
		w.AppendNull()
	} else {
		w.AppendBulk(name)
	}
	w.AppendInt(int64(count))
}

// Subscribe replies to a subscription to names of kind k, in w's
// protocol, and leaves the new ones for Start.
func (s *Subs) Subscribe(w *resp.Writer, k Kind, names [][]byte) {
	if s.sets[k] == nil {
		s.sets[k] = map[string]struct{}{}
	}
	for _, n := range names {
		if _, ok := s.sets[k][string(n)]; !ok {
			s.sets[k][string(n)] = struct{}{}
			s.starting = append(s.starting, pending{k, string(n)})
		}
		appendReply(w, verbs[k][0], n, s.count(k))
	}
}

// Start makes the subscriptions Subscribe left in h, for sub.
func (s *Subs) Start(h *Hub, sub Subscriber) {
	for _, p := range s.starting {
		h.Subscribe(sub, p.kind, p.name)
	}
	s.starting = s.starting[:0]
}

// Unsubscribe leaves names of kind k, or every one of its kind when names
// is empty, in h, and replies for each.
func (s *Subs) Unsubscribe(w *resp.Writer, h *Hub, sub Subscriber, k Kind, names [][]byte) {
	if len(names) == 0 {
		all := make([]string, 0, len(s.sets[k]))
		for n := range s.sets[k] {
			all = append(all, n)
		}
		slices.Sort(all)
		if len(all) == 0 {
			appendReply(w, verbs[k][1], nil, s.count(k))
			return
		}
		for _, n := range all {
			names = append(names, []byte(n))
		}
	}
	for _, n := range names {
		if _, ok := s.sets[k][string(n)]; ok {
			delete(s.sets[k], string(n))
			s.starting = slices.DeleteFunc(s.starting, func(p pending) bool { return p.kind == k && p.name == string(n) })
			h.Unsubscribe(sub, k, string(n))
		}
		appendReply(w, verbs[k][1], n, s.count(k))
	}
}

// Clear leaves every subscription, as RESET and a closing connection do.
func (s *Subs) Clear(h *Hub, sub Subscriber) {
	for k := range s.sets {
		for n := range s.sets[k] {
			h.Unsubscribe(sub, Kind(k), n)
		}
		s.sets[k] = nil
	}
	s.starting = s.starting[:0]
}

// Command names the (un)subscribe commands: its kind and whether it
// subscribes, and false for any other.
func Command(name string) (k Kind, subscribe, ok bool) {
	for i, v := range verbs {
		switch name {
		case v[0]:
			return Kind(i), true, true
		case v[1]:
			return Kind(i), false, true
		}
	}
	return 0, false, false
}

var help = []string{
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
}

// AppendPubSub answers PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|
// SHARDNUMSUB|HELP from h, as Redis 7.0.
func AppendPubSub(w *resp.Writer, h *Hub, args [][]byte) {
	sub := args[1]
	arity := func(name string, ok bool) bool {
		if !ok {
			w.AppendError("ERR wrong number of arguments for 'pubsub|" + name + "' command")
		}
		return ok
	}
	switch {
	case ascii.EqualFold(sub, "help"):
		if arity("help", len(args) == 2) {
			w.AppendArray(len(help))
			for _, l := range help {
				w.AppendSimple(l)
			}
		}
	case ascii.EqualFold(sub, "channels"), ascii.EqualFold(sub, "shardchannels"):
		k, name := Channel, "channels"
		if ascii.EqualFold(sub, "shardchannels") {
			k, name = Shard, "shardchannels"
		}
		if !arity(name, len(args) <= 3) {
			return
		}
		var pat []byte
		if len(args) == 3 {
			pat = args[2]
		}
		names := h.Names(k, pat)
		w.AppendArray(len(names))
		for _, n := range names {
			w.AppendBulkString(n)
		}
	case ascii.EqualFold(sub, "numsub"), ascii.EqualFold(sub, "shardnumsub"):
		k := Channel
		if ascii.EqualFold(sub, "shardnumsub") {
			k = Shard
		}
		if w.Proto() > 2 {
			w.AppendMap(len(args) - 2)
		} else {
			w.AppendArray(2 * (len(args) - 2))
		}
		for _, ch := range args[2:] {
			w.AppendBulk(ch)
			w.AppendInt(int64(h.Count(k, ch)))
		}
	case ascii.EqualFold(sub, "numpat"):
		if arity("numpat", len(args) == 2) {
			w.AppendInt(int64(h.Patterns()))
		}
	default:
		s := sub[:min(len(sub), 128)]
		w.AppendError("ERR unknown subcommand '" + string(s) + "'. Try PUBSUB HELP.")
	}
}
